import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createLogger, type Logger } from '@metadome/logger'
import { errorHandler, metrics, health } from '@metadome/service'
import { natsPlugin, pingNats } from '@metadome/nats'
import { pingDb } from '@metadome/db'
import type { WriterConfig } from './config.js'
import db from './plugins/external/db.js'

export interface BuildOptions {
  /** Defaults to a logger built from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger
}

/** message-writer, built but not listening: server.ts listens, tests inject. */
export async function buildApp (config: WriterConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = options.logger ?? createLogger({ name: 'message-writer', level: config.LOG_LEVEL, format: config.LOG_FORMAT })
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandler)
  await app.register(metrics, { app: 'message-writer' })
  await app.register(db, { url: config.DATABASE_URL })
  await app.register(natsPlugin, { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, name: 'message-writer' })
  await app.register(health, {
    checks: {
      database: async () => { await pingDb(app.chatDb) },
      nats: async () => { await pingNats(app.nats.nc) }
    }
  })
  return app
}
