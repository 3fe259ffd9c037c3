import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

export interface Background {
  /** Runs `task` after the answer, its failure logged (never the client's to see). */
  run: (name: string, task: () => Promise<void>) => void
  /** Resolves once every task started so far has ended (tests, and close). */
  settled: () => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    background: Background
  }
}

/**
 * Work a request starts but does not wait for: sending mail, and all of
 * POST /v1/auth/password/forgot, so that its answer takes the same time
 * whether the account exists or not. Close waits for what is running.
 */
export const backgroundPlugin = fp(async function backgroundPlugin (app: FastifyInstance) {
  const running = new Set<Promise<void>>()
  const log = app.log.child({ component: 'background' })
  app.decorate('background', {
    run (name: string, task: () => Promise<void>): void {
      const p: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(task)
        .catch((err: unknown) => { log.error({ err, task: name }, 'background task failed') })
        .finally(() => running.delete(p))
      running.add(p)
    },
    async settled (): Promise<void> {
      while (running.size > 0) await Promise.all([...running])
    }
  } satisfies Background)
  // Before the database closes (registered after it).
  app.addHook('onClose', async () => { await app.background.settled() })
}, { name: 'auth-background', dependencies: ['metadome-db'] })
