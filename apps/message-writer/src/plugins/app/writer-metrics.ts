import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { writerMetrics, type WriterMetrics } from '../../writer/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    writerMetrics: WriterMetrics
  }
}

/** The writer's series (rows, batches, lag, dead letters, RPC latency) in the app's registry. */
export const writerMetricsPlugin = fp(async function writerMetricsPlugin (app: FastifyInstance) {
  app.decorate('writerMetrics', writerMetrics(app.metrics))
}, { name: 'writer-metrics', dependencies: ['metadome-metrics'] })
