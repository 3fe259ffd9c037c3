import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createLogger, type Logger } from '@metadome/logger'
import { errorHandler, metrics, health } from '@metadome/service'
import { natsPlugin, pingNats } from '@metadome/nats'
import { MAX_BODY_BYTES } from '@metadome/contracts'
import type { GatewayConfig } from './config.js'
import { swaggerPlugin } from './plugins/external/swagger.js'
import { websocketPlugin } from './plugins/external/websocket.js'
import { chatPlugin } from './plugins/app/chat.js'
import { authenticatePlugin } from './plugins/app/authenticate.js'
import { wsRoutes } from './routes/ws.js'
import { conversationRoutes } from './routes/conversations.js'

export interface BuildOptions {
  /** Defaults to a logger built from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger
}

/**
 * chat-gateway, built but not listening. It holds no database connection:
 * everything beyond token verification comes over NATS (DESIGN.md).
 */
export async function buildApp (config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = options.logger ?? createLogger({ name: 'chat-gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT })
  const app = Fastify({
    loggerInstance: logger,
    // A 64 KiB body plus the envelope; beyond, 413 too_large.
    bodyLimit: 2 * MAX_BODY_BYTES
  }).withTypeProvider<TypeBoxTypeProvider>()

  // REST requests are checked by TypeBox itself, against the schemas of
  // libs/contracts that also check the WebSocket frames: unknown properties
  // are a 400 bad_request (Fastify's default Ajv would drop them silently,
  // DESIGN.md says they are rejected), bodies are never coerced, and query
  // strings and path parameters are converted from text. TypeBox's own
  // formats (uuid, date-time) are kept, the ones the frame reader uses, rather
  // than registerAjvFormats(): Ajv's uuid also takes a "urn:uuid:" prefix.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  await app.register(swaggerPlugin)
  await app.register(errorHandler)
  await app.register(metrics, { app: 'chat-gateway' })
  await app.register(natsPlugin, { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, name: 'chat-gateway', noAsyncTraces: true })
  await app.register(health, {
    checks: {
      nats: async () => { await pingNats(app.nats.nc) }
    }
  })
  await app.register(chatPlugin, { config })
  await app.register(websocketPlugin, { maxPayload: config.WS_MAX_PAYLOAD_BYTES })
  await app.register(authenticatePlugin)
  await app.register(wsRoutes, { config })
  await app.register(conversationRoutes)
  return app
}
