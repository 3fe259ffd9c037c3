import { randomBytes } from 'node:crypto'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import type { Teardown } from './teardown.js'

export const testNatsUrl = (): string => process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

/**
 * A random namespace for one test file; at teardown every stream it made is
 * deleted (KV buckets are streams named KV_<bucket>, so they go too).
 */
export function createTestNamespace (t: Teardown, natsUrl = testNatsUrl()): string {
  const ns = `t${randomBytes(5).toString('hex')}`
  t.teardown(async () => { await deleteNamespace(natsUrl, ns) })
  return ns
}

/**
 * A stream no test deletes. nats-server 2.9 removes an account's empty
 * streams folder when its last stream goes, and a stream created at that
 * moment by a test running beside fails ("could not create storage
 * directory", 10077): with this one there, the folder is never empty.
 */
const ANCHOR = { name: 'metadome_test_anchor', subjects: ['metadome_test_anchor.none'] }

export async function deleteNamespace (natsUrl: string, ns: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(','), timeout: 2_000 }).catch(() => undefined)
  if (nc === undefined) return // that server is gone already (outage tests stop their own)
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.info(ANCHOR.name).catch(async () => await jsm.streams.add({ ...ANCHOR, max_msgs: 1 }).catch(() => undefined))
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${ns}_`) || name.startsWith(`KV_${ns}_`)) await jsm.streams.delete(name)
    }
  } finally {
    await nc.close()
  }
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

export interface NatsServerProcess {
  url: string
  port: number
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop: () => Promise<void>
  /** Starts it again on the same port and store, as after an outage. */
  start: () => Promise<void>
}

export interface NatsServerOptions {
  port?: number
  /** Extra nats-server arguments, e.g. cluster routes. */
  args?: string[]
}

/**
 * A private nats-server with JetStream on a free loopback port, for tests
 * that take NATS away (outages) or need a cluster. Stopped at teardown.
 */
export async function startNatsServer (t: Teardown, options: NatsServerOptions = {}): Promise<NatsServerProcess> {
  const port = options.port ?? await freePort()
  const storeDir = await mkdtemp(join(tmpdir(), 'mdnats-'))
  let child: ChildProcess | undefined

  const start = async (): Promise<void> => {
    child = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...(options.args ?? [])],
      { stdio: 'ignore' })
    await waitForNats(`nats://127.0.0.1:${port}`, 10_000)
  }
  const stop = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGTERM') })
  }

  await start()
  t.teardown(async () => {
    await stop()
    await rm(storeDir, { recursive: true, force: true })
  })
  return { url: `nats://127.0.0.1:${port}`, port, stop, start }
}

export async function waitForNats (url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const nc = await connect({ servers: url, timeout: 500 })
      // JetStream answers a moment after the port opens.
      await jetstreamManager(nc)
      await nc.close()
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`nats-server at ${url} did not start: ${String(err)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
