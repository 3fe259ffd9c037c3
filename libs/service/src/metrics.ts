import fp from 'fastify-plugin'
import { Registry, collectDefaultMetrics, Histogram } from 'prom-client'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; register app metrics here. */
    metrics: Registry
  }
}

export interface MetricsOptions {
  /** Becomes the `app` label on every series. */
  app: string
}

/**
 * `/metrics` with Node's default metrics and request durations. A registry per
 * app instance (not prom-client's global one) so tests can build many apps in
 * one process.
 */
export const metrics = fp(async function metrics (app: FastifyInstance, opts: MetricsOptions) {
  const registry = new Registry()
  registry.setDefaultLabels({ app: opts.app })
  collectDefaultMetrics({ register: registry })
  app.decorate('metrics', registry)

  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  app.addHook('onResponse', async (request, reply) => {
    duration.observe({
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
      status: reply.statusCode
    }, reply.elapsedTime / 1000)
  })

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'metadome-metrics' })
