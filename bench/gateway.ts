import { randomBytes, randomUUID } from 'node:crypto'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { connect } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { ensureStream, namespace } from '@metadome/nats'
import { chatRpc, usersStream, userEventSubject } from '@metadome/contracts'
import { adminDatabaseUrl, deleteNamespace, freePort, testNatsUrl, until } from '@metadome/testing'
import { startJwksServer } from '@metadome/e2e'
import { compiledEntry } from './compiled.js'
import { natsCpuSeconds } from './relay.js'
import { runChatWorkload, type ChatBenchOptions, type ChatBenchResult } from './chat-workload.js'
import type { ChatTarget } from './ws-load.js'
import { processCpuSeconds } from './process-cpu.js'
import { WRITER_NODE_ARGS } from './writer-node-args.js'

export interface BenchGatewayOptions extends ChatBenchOptions {
  /** A PostgreSQL URL allowed to create databases (message-writer's); a fresh one is made and dropped after. */
  adminDatabaseUrl?: string
}

const root = fileURLToPath(new URL('..', import.meta.url))

/** A gateway's per-socket and per-user limits, lifted: the load generators send far faster than a person. */
export const LOAD_GENERATOR_LIMITS = {
  WS_RATE_PER_SECOND: '1000000',
  WS_RATE_BURST: '1000000',
  WS_BYTES_PER_SECOND: String(1 << 30),
  WS_USER_BYTES_PER_SECOND: String(1 << 30)
}

export interface Child {
  child: ChildProcess
  stop: () => Promise<void>
}

/** One app as operators run it: its own process, compiled (compiled.ts), configured by environment. */
export async function startApp (entry: string, env: Record<string, string>, readyUrl: string, nodeArgs: string[] = []): Promise<Child> {
  // BENCH_PROFILE=<folder>: each app writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
  const child = spawn(process.execPath, [...profile, ...nodeArgs, ...await compiledEntry(entry)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`)
    try {
      return (await fetch(readyUrl)).status === 200
    } catch {
      return false
    }
  }, 30_000, `${entry} to be ready`)
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * chat-gateway on the relay's workload (bench/chat-workload.ts): `servers`
 * gateways (senders on the first, recipients on the last) and one
 * message-writer, each in its own process, on a fresh NATS namespace and
 * database; the load generators in processes of their own. Every message is validated,
 * stored by the CHAT stream, acked and fanned out per conversation, exactly
 * as in production.
 */
export async function benchGateway (opts: BenchGatewayOptions = {}): Promise<ChatBenchResult> {
  const log = opts.log ?? (() => {})
  const natsUrl = opts.natsUrl ?? testNatsUrl()
  const adminUrl = opts.adminDatabaseUrl ?? adminDatabaseUrl()
  const cleanups: Array<() => unknown> = []
  const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
  try {
    const dbName = `mdbench_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`create database "${dbName}"`)
    await admin.end()
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: adminUrl })
      await c.connect()
      await c.query(`drop database if exists "${dbName}" with (force)`)
      await c.end()
    })
    const databaseUrl = new URL(adminUrl)
    databaseUrl.pathname = `/${dbName}`

    const ns = namespace(`bench${randomBytes(4).toString('hex')}`)
    cleanups.push(async () => { await deleteNamespace(natsUrl, ns.prefix) })
    const nc = await connect({ servers: natsUrl.split(',') })
    cleanups.push(async () => { await nc.close() })
    await ensureStream(await jetstreamManager(nc), usersStream(ns))
    const js = jetstream(nc)
    const rpc = chatRpc(nc, ns, { timeoutMs: 5_000 })

    const jwks = await startJwksServer(teardown)
    const writerPort = await freePort()
    const writer = await startApp('apps/message-writer/src/server.ts', {
      DATABASE_URL: databaseUrl.toString(), NATS_URL: natsUrl, NATS_NAMESPACE: ns.prefix, PORT: String(writerPort)
    }, `http://127.0.0.1:${writerPort}/readyz`, WRITER_NODE_ARGS)
    cleanups.push(writer.stop)
    const ports: number[] = []
    for (let i = 0; i < (opts.servers ?? 2); i++) {
      const port = await freePort()
      const gateway = await startApp('apps/chat-gateway/src/server.ts', {
        NATS_URL: natsUrl,
        NATS_NAMESPACE: ns.prefix,
        PORT: String(port),
        AUTH_URL: jwks.url,
        ...LOAD_GENERATOR_LIMITS
      }, `http://127.0.0.1:${port}/readyz`)
      cleanups.push(gateway.stop)
      ports.push(port)
    }
    log(`  gateways on ${ports.join(' and ')}, message-writer on ${writerPort}, namespace ${ns.prefix}`)

    const target: ChatTarget = {
      kind: 'gateway',
      endpoint: (userId, side) => ({
        url: `ws://127.0.0.1:${side === 'sender' ? ports[0] : ports.at(-1)}/v1/ws`,
        headers: { authorization: `Bearer ${jwks.token(userId)}` }
      }),
      async prepare (userIds) {
        // Recipients must exist: registered as auth-api's relay would, then known to the writer.
        for (const userId of userIds) {
          const id = randomUUID()
          const event = { id, type: 'registered', occurredAt: new Date().toISOString(), user: { id: userId, username: `b${userId.slice(0, 8)}`, displayName: 'Bench' } }
          await js.publish(userEventSubject(ns, 'registered'), JSON.stringify(event), { msgID: id })
        }
        const last = userIds[userIds.length - 1]
        if (last !== undefined) await until(async () => (await rpc.call('users.get', { userId: last })).user !== null, 30_000, 'the writer to know the users')
      }
    }
    // The apps' own Prometheus metrics (prom-client's process metrics).
    const metric = async (name: string, appPort: number): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${appPort}/metrics`)).text()
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text)
      if (m === null) throw new Error(`no ${name} in /metrics`)
      return Number(m[1])
    }
    return await runChatWorkload(target, {
      rss: async () => await metric('process_resident_memory_bytes', ports[0] ?? 0),
      cpuSeconds: async () => (await Promise.all(ports.map(async (p) => await metric('process_cpu_seconds_total', p)))).reduce((a, b) => a + b, 0),
      otherCpuSeconds: async () => {
        const postgres = await processCpuSeconds('postgres')
        return { 'message-writer': await metric('process_cpu_seconds_total', writerPort), ...(postgres === undefined ? {} : { postgres }), ...await natsCpuSeconds() }
      }
    }, opts)
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (err) {
        log(`  cleanup failed: ${String(err)}`)
      }
    }
  }
}
