import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createLogger, type Logger } from '@metadome/logger'
import { errorHandler, metrics, health } from '@metadome/service'
import { natsPlugin, pingNats } from '@metadome/nats'
import { pingDb } from '@metadome/db'
import type { WriterConfig } from './config.js'
import db from './plugins/external/db.js'
import writerMetrics from './plugins/app/writer-metrics.js'
import streams from './plugins/app/streams.js'
import writers from './plugins/app/writers.js'
import rpc from './plugins/app/rpc.js'

export interface BuildOptions {
  /** Defaults to a logger built from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger
}

/**
 * message-writer, started (consuming and answering requests) but not
 * listening: server.ts listens for health and metrics, tests use it as is.
 *
 * Registration order is shutdown order reversed (Fastify runs onClose hooks
 * last-registered first): on close the RPC service leaves its queue group and
 * answers what it holds, the writers stop pulling and commit and ack their
 * batches in flight, then NATS drains and the database pool closes.
 */
export async function buildApp (config: WriterConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = options.logger ?? createLogger({ name: 'message-writer', level: config.LOG_LEVEL, format: config.LOG_FORMAT })
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandler)
  await app.register(metrics, { app: 'message-writer' })
  await app.register(db, { url: config.DATABASE_URL, maxConnections: config.DATABASE_POOL_SIZE })
  await app.register(natsPlugin, { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, name: 'message-writer' })
  await app.register(health, {
    checks: {
      database: async () => { await pingDb(app.chatDb) },
      nats: async () => { await pingNats(app.nats.nc) }
    }
  })
  await app.register(writerMetrics)
  // Room for every replica's batches in flight plus the one it pulls ahead.
  await app.register(streams, { maxAckPending: Math.max(20_000, config.WRITER_BATCH_SIZE * (config.WRITER_BATCHES_IN_FLIGHT + 1) * 8) })
  await app.register(writers, {
    batchSize: config.WRITER_BATCH_SIZE,
    batchWaitMs: config.WRITER_BATCH_WAIT_MS,
    batchesInFlight: config.WRITER_BATCHES_IN_FLIGHT,
    groupMaxMembers: config.GROUP_MAX_MEMBERS
  })
  await app.register(rpc, { groupMaxMembers: config.GROUP_MAX_MEMBERS })
  await app.ready()
  return app
}
