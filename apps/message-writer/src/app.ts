import { env } from '@metadome/config'
import type { FastifyInstance } from 'fastify'
import { createLogger, type Logger } from '@metadome/logger'
import { natsAuth } from '@metadome/nats'
import { createService } from '@metadome/service'
import type { WriterConfig } from './config.js'
import { chatDatabase } from './plugins/external/db.js'
import { writerMetricsPlugin } from './plugins/app/writer-metrics.js'
import { streamsPlugin } from './plugins/app/streams.js'
import { writersPlugin } from './plugins/app/writers.js'
import { rpcPlugin } from './plugins/app/rpc.js'

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
  return await createService({
    name: 'message-writer',
    http: env.httpTimeouts(config),
    logger: options.logger ?? createLogger({ name: 'message-writer', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    bodyLimit: 1024,
    database: chatDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE),
    nats: { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, replicas: config.NATS_STREAM_REPLICAS, auth: natsAuth(config) }
  }, async (app) => {
    await app.register(writerMetricsPlugin)
    // Room for every replica's batches in flight plus the one it pulls ahead.
    await app.register(streamsPlugin, { chatLimits: env.chatStreamLimits(config), ackWaitMs: config.WRITER_ACK_WAIT_MS, maxAckPending: Math.max(20_000, config.WRITER_BATCH_SIZE * (config.WRITER_BATCHES_IN_FLIGHT + 1) * 8) })
    await app.register(writersPlugin, {
      batchSize: config.WRITER_BATCH_SIZE,
      batchWaitMs: config.WRITER_BATCH_WAIT_MS,
      batchesInFlight: config.WRITER_BATCHES_IN_FLIGHT,
      groupMaxMembers: config.GROUP_MAX_MEMBERS
    })
    await app.register(rpcPlugin, { groupMaxMembers: config.GROUP_MAX_MEMBERS, groupLimits: { creationsPerHour: config.GROUP_CREATIONS_PER_HOUR, additionsPerHour: config.GROUP_ADDITIONS_PER_HOUR } })
    await app.ready()
  })
}
