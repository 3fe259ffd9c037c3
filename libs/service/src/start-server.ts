import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'

export interface ListenConfig {
  HOST: string
  PORT: number
}

/**
 * Connections the kernel queues for accept() (capped by net.core.somaxconn,
 * 4096 on current kernels). Node's default, 511, overflows when every client
 * of a restarted gateway comes back at once, and a client whose SYN is
 * dropped tries again after 1, 3, 7, 15 s...: the storm's long tail.
 */
const LISTEN_BACKLOG = 4096

/**
 * The one place an app is started: build it, listen, and handle signals.
 * SIGTERM/SIGINT close the app (each app drains in its own onClose hooks); a
 * second signal or the grace delay running out exits at once. A failure to
 * start (database or NATS unreachable, migration failed) is one line on
 * stderr and exit code 1, so supervisors restart it with the reason shown.
 */
export async function startServer (
  build: () => Promise<FastifyInstance>,
  config: ListenConfig,
  graceMs = 10_000
): Promise<FastifyInstance> {
  let app: FastifyInstance
  try {
    app = await build()
    await app.listen({ host: config.HOST, port: config.PORT, backlog: LISTEN_BACKLOG })
  } catch (err) {
    process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  closeWithGrace({ delay: graceMs }, async ({ err, signal }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })
  return app
}
