import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createLogger, type Logger } from '@metadome/logger'
import { errorHandler, metrics, health } from '@metadome/service'
import { natsPlugin, pingNats } from '@metadome/nats'
import type { GatewayConfig } from './config.js'

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
    bodyLimit: 128 * 1024
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandler)
  await app.register(metrics, { app: 'chat-gateway' })
  await app.register(natsPlugin, { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, name: 'chat-gateway' })
  await app.register(health, {
    checks: {
      nats: async () => { await pingNats(app.nats.nc) }
    }
  })
  return app
}
