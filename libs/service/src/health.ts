import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

export type Check = () => Promise<void>

export interface HealthOptions {
  /** Dependencies that must answer for the app to be ready, by name. */
  checks: Record<string, Check>
  timeoutMs?: number
}

async function run (check: Check, timeoutMs: number): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timeout')), timeoutMs) })
    ])
    return 'up'
  } catch {
    return 'down'
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `/healthz`: the process is alive. `/readyz`: every dependency answers and the
 * app is not shutting down; load balancers stop routing here on 503.
 */
export const health = fp(async function health (app: FastifyInstance, opts: HealthOptions) {
  let closing = false
  app.addHook('preClose', async () => { closing = true })

  // Probes run every few seconds; logging each would drown the real lines.
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const names = Object.keys(opts.checks)
    const results = await Promise.all(names.map(async (name) => await run(opts.checks[name] as Check, opts.timeoutMs ?? 2_000)))
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]))
    const ready = !closing && results.every((r) => r === 'up')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : (closing ? 'closing' : 'unavailable'), checks })
  })
}, { name: 'metadome-health' })
