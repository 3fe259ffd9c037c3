import { env } from '@metadome/config'
import type { FastifyInstance } from 'fastify'
import { createLogger, type Logger } from '@metadome/logger'
import { natsAuth } from '@metadome/nats'
import { createService, openapi } from '@metadome/service'
import { MAX_BODY_BYTES } from '@metadome/contracts'
import { checkAuthUrl, type GatewayConfig } from './config.js'
import { asyncApiRoutes } from './plugins/external/asyncapi.js'
import { websocketPlugin } from './plugins/external/websocket.js'
import { chatPlugin } from './plugins/app/chat.js'
import { authenticatePlugin } from './plugins/app/authenticate.js'
import { wsRoutes } from './routes/ws.js'
import { restRoutes } from './routes/rest.js'

export interface BuildOptions {
  /** Defaults to a logger built from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger
}

/**
 * chat-gateway, built but not listening. It holds no database connection:
 * everything beyond token verification comes over NATS (DESIGN.md).
 */
export async function buildApp (config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  checkAuthUrl(config)
  return await createService({
    name: 'chat-gateway',
    http: env.httpTimeouts(config),
    logger: options.logger ?? createLogger({ name: 'chat-gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    // A 64 KiB body plus the envelope; beyond, 413 too_large.
    bodyLimit: 2 * MAX_BODY_BYTES,
    nats: { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, replicas: config.NATS_STREAM_REPLICAS, noAsyncTraces: true, auth: natsAuth(config) }
  }, async (app) => {
    // The REST routes' OpenAPI document; the WebSocket frames and NATS
    // subjects are in the AsyncAPI one, at /asyncapi.
    await app.register(openapi, {
      title: 'metadome chat-gateway',
      description: 'REST side of the chat gateway. Errors are `{ "error": { "code", "message" } }`. The WebSocket contract (`GET /v1/ws`) and the NATS subjects are in the AsyncAPI document: /asyncapi.json, browsable at /asyncapi.',
      version: '1'
    })
    await app.register(asyncApiRoutes)
    await app.register(chatPlugin, { config })
    await app.register(websocketPlugin, { maxPayload: config.WS_MAX_PAYLOAD_BYTES })
    await app.register(authenticatePlugin)
    await app.register(wsRoutes, { config })
    await app.register(restRoutes, { rateLimitPerMinute: config.REST_RATE_LIMIT_PER_MINUTE })
  })
}
