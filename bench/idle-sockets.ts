import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { connect } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { ensureStream, namespace } from '@metadome/nats'
import { chatRpc, usersStream, userEventSubject } from '@metadome/contracts'
import { createTestDatabase, deleteNamespace, freePort, testNatsUrl, until } from '@metadome/testing'
import { startJwksServer } from '@metadome/e2e'
import { startApp, type Child } from './gateway.js'
import { startRelay } from './relay.js'
import { WRITER_NODE_ARGS } from './writer-node-args.js'
import { openEndpoint } from './wire.js'
import { processCpuSeconds } from './process-cpu.js'
import { listenDrops } from './listen-drops.js'
import { collectGarbage } from './collect-garbage.js'
import { compiledScript } from './compiled.js'
import type { IdleCommand, IdleStatus } from './idle-worker.js'

// Idle authenticated sockets on one gateway, at the scale one process may
// hold here (a hard limit of 20,000 open files): memory per socket (RSS and
// heap after the gateway settles), the connect rate when all of them connect
// at once, then again after the gateway restarts (a reconnect storm), and a
// message to a sample of them while they are all connected. The clients are
// several processes (bench/idle-worker.ts), each from a 127.0.0.x address
// of its own. The ceiling is the same storm against the bare relay
// (bench/relay.ts): no token checked, nothing loaded, a `ready` at once.

export interface IdleSocketsResult {
  sockets: number
  workers: number
  connectPerSecond: number
  /** Gateway CPU per socket while they all connect (the first time). */
  cpuMicrosPerConnect: number
  /** nats-server's (every nats-server process on this machine). */
  natsMicrosPerConnect: number
  /** message-writer's and PostgreSQL's: the gateway asks the writer for each user's conversations. */
  writerMicrosPerConnect: number
  postgresMicrosPerConnect: number
  /** The client processes' (they share the machine's cores with the servers), the first time and after the restart. */
  clientMicrosPerConnect: number
  clientMicrosPerReconnect: number
  reconnectPerSecond: number
  rssBytesPerSocket: number
  heapBytesPerSocket: number
  /** Of `sampled` idle users sent one message each, how many got it. */
  delivered: number
  sampled: number
  failedConnects: number
  /** Connects the kernel dropped for a full accept queue (each retried a second later), the first time and after the restart; undefined without /proc. */
  listenDrops?: number
  listenDropsAfterRestart?: number
  /** The same storm against the bare relay, in the same run. */
  ceiling: {
    connectPerSecond: number
    cpuMicrosPerConnect: number
    natsMicrosPerConnect: number
    clientMicrosPerConnect: number
    listenDrops?: number
  }
}

interface Workers {
  all: ChildProcess[]
  status: () => Promise<IdleStatus[]>
  close: () => void
}

const since = (before: number | undefined, after: number | undefined): number | undefined => before === undefined || after === undefined ? undefined : after - before
const total = (all: IdleStatus[], key: 'ready' | 'received' | 'failed' | 'cpuSeconds'): number => all.reduce((s, x) => s + x[key], 0)

const workerEntry = fileURLToPath(new URL('./idle-worker.ts', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export async function benchIdleSockets (opts: { sockets?: number, workers?: number, sample?: number, log?: (line: string) => void } = {}): Promise<IdleSocketsResult> {
  const log = opts.log ?? (() => {})
  const count = opts.sockets ?? 19_000
  const workerCount = opts.workers ?? 4
  const sampled = Math.min(opts.sample ?? 200, count)
  const natsUrl = testNatsUrl()
  const cleanups: Array<() => unknown> = []
  try {
    const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
    const databaseUrl = await createTestDatabase(teardown, 'mdbench')
    const ns = namespace(`bench${randomBytes(4).toString('hex')}`)
    cleanups.push(async () => { await deleteNamespace(natsUrl, ns.prefix) })
    const nc = await connect({ servers: natsUrl.split(',') })
    cleanups.push(async () => { await nc.close() })
    await ensureStream(await jetstreamManager(nc), usersStream(ns))

    const jwks = await startJwksServer(teardown)
    const writerPort = await freePort()
    const writer = await startApp('apps/message-writer/src/server.ts', { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, NATS_NAMESPACE: ns.prefix, PORT: String(writerPort) }, `http://127.0.0.1:${writerPort}/readyz`, WRITER_NODE_ARGS)
    cleanups.push(writer.stop)
    const port = await freePort()
    const gatewayEnv = { NATS_URL: natsUrl, NATS_NAMESPACE: ns.prefix, PORT: String(port), AUTH_URL: jwks.url }
    const ready = `http://127.0.0.1:${port}/readyz`
    // The inspector on loopback, for a full collection before each memory reading.
    const inspectPort = await freePort()
    let gateway: Child = await startApp('apps/chat-gateway/src/server.ts', gatewayEnv, ready, [`--inspect=127.0.0.1:${inspectPort}`])
    const settle = async (): Promise<void> => { await collectGarbage(`http://127.0.0.1:${inspectPort}`) }
    cleanups.push(async () => { await gateway.stop() })
    const metric = async (name: string, of = port): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${of}/metrics`)).text()
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text)
      if (m === null) throw new Error(`no ${name} in /metrics`)
      return Number(m[1])
    }

    // The sample's users and a sender exist (the gateway checks recipients).
    const users = Array.from({ length: count }, () => randomUUID())
    const sample = users.slice(0, sampled)
    const senderId = randomUUID()
    const js = jetstream(nc)
    for (const userId of [...sample, senderId]) {
      const id = randomUUID()
      await js.publish(userEventSubject(ns, 'registered'), JSON.stringify({ id, type: 'registered', occurredAt: new Date().toISOString(), user: { id: userId, username: `i${userId.slice(0, 8)}`, displayName: 'Idle' } }), { msgID: id })
    }
    const rpc = chatRpc(nc, ns, { timeoutMs: 5_000 })
    await until(async () => (await rpc.call('users.get', { userId: senderId })).user !== null, 30_000, 'the writer to know the users')

    const ceiling = await relayStorm(users, workerCount, log)

    const workers = await spawnWorkers(workerCount)
    cleanups.push(workers.close)
    const { status } = workers
    await settle()
    const rssBefore = await metric('process_resident_memory_bytes')
    const heapBefore = await metric('nodejs_heap_size_used_bytes')
    const url = `ws://127.0.0.1:${port}/v1/ws`
    const cpuBefore = await metric('process_cpu_seconds_total')
    const natsBefore = await processCpuSeconds('nats-server') ?? 0
    const writerBefore = await metric('process_cpu_seconds_total', writerPort)
    const postgresBefore = await processCpuSeconds('postgres') ?? 0
    const clientCpuBefore = total(await status(), 'cpuSeconds')
    const dropsBefore = await listenDrops()
    const startedAt = Date.now()
    openAll(workers, url, users.map((userId) => jwks.token(userId, { expiresIn: 3_600 })))
    const first = await allReady(workers, count)
    const drops = since(dropsBefore, await listenDrops())
    const connectPerSecond = first.ready / ((first.at - startedAt) / 1000)
    const cpuMicrosPerConnect = (await metric('process_cpu_seconds_total') - cpuBefore) * 1e6 / first.ready
    const natsMicrosPerConnect = ((await processCpuSeconds('nats-server') ?? 0) - natsBefore) * 1e6 / first.ready
    const clientMicrosPerConnect = (total(await status(), 'cpuSeconds') - clientCpuBefore) * 1e6 / first.ready
    const writerMicrosPerConnect = (await metric('process_cpu_seconds_total', writerPort) - writerBefore) * 1e6 / first.ready
    const postgresMicrosPerConnect = ((await processCpuSeconds('postgres') ?? 0) - postgresBefore) * 1e6 / first.ready
    log(`${first.ready} of ${count} sockets ready in ${((first.at - startedAt) / 1000).toFixed(1)} s (${connectPerSecond.toFixed(0)}/s) from ${workerCount} processes, ${first.failed} refused; CPU per connect: gateway ${cpuMicrosPerConnect.toFixed(0)} µs, nats-server ${natsMicrosPerConnect.toFixed(0)} µs, message-writer ${writerMicrosPerConnect.toFixed(0)} µs, PostgreSQL ${postgresMicrosPerConnect.toFixed(0)} µs, clients ${clientMicrosPerConnect.toFixed(0)} µs; ${drops ?? '?'} dropped for a full accept queue`)
    // Settle: subscriptions made, buffers released, a GC cycle or two.
    await sleep(5_000)
    await settle()
    const rssBytesPerSocket = (await metric('process_resident_memory_bytes') - rssBefore) / first.ready
    const heapBytesPerSocket = (await metric('nodejs_heap_size_used_bytes') - heapBefore) / first.ready
    log(`gateway memory per idle socket: ${(rssBytesPerSocket / 1024).toFixed(1)} KiB RSS, ${(heapBytesPerSocket / 1024).toFixed(1)} KiB heap`)

    // A message to each sampled user while all the sockets are open.
    const sender = await openEndpoint('gateway', { url, headers: { authorization: `Bearer ${jwks.token(senderId, { expiresIn: 3_600 })}` } })
    const receivedBefore = total(await status(), 'received')
    for (const to of sample) sender.send(JSON.stringify({ type: 'send', id: randomUUID(), to, body: { ciphertext: 'aWRsZQ==', nonce: 'bm9uY2U=' } }))
    let delivered = 0
    await until(async () => {
      delivered = total(await status(), 'received') - receivedBefore
      return delivered >= sampled
    }, 30_000, 'the sample to get its messages').catch(() => {})
    sender.terminate()
    log(`delivered to ${delivered} of ${sampled} sampled idle users`)

    // The reconnect storm: every socket comes back as soon as the gateway does.
    for (const w of workers.all) w.send({ type: 'reconnect' } satisfies IdleCommand)
    const dropsBeforeRestart = await listenDrops()
    await gateway.stop()
    gateway = await startApp('apps/chat-gateway/src/server.ts', gatewayEnv, ready)
    const restartedAt = Date.now()
    const clientCpuAtRestart = total(await status(), 'cpuSeconds')
    const second = await allReady(workers, count)
    const dropsAfterRestart = since(dropsBeforeRestart, await listenDrops())
    const clientMicrosPerReconnect = (total(await status(), 'cpuSeconds') - clientCpuAtRestart) * 1e6 / second.ready
    const reconnectPerSecond = second.ready / ((second.at - restartedAt) / 1000)
    log(`after a restart, ${second.ready} sockets back in ${((second.at - restartedAt) / 1000).toFixed(1)} s (${reconnectPerSecond.toFixed(0)}/s); clients' CPU per connect ${clientMicrosPerReconnect.toFixed(0)} µs (connects refused while the gateway was down are retried); ${dropsAfterRestart ?? '?'} dropped for a full accept queue`)
    return { sockets: first.ready, workers: workerCount, connectPerSecond, cpuMicrosPerConnect, natsMicrosPerConnect, writerMicrosPerConnect, postgresMicrosPerConnect, clientMicrosPerConnect, clientMicrosPerReconnect, reconnectPerSecond, rssBytesPerSocket, heapBytesPerSocket, delivered, sampled, failedConnects: first.failed, listenDrops: drops, listenDropsAfterRestart: dropsAfterRestart, ceiling }
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try { await cleanup() } catch (err) { log(`cleanup failed: ${String(err)}`) }
    }
  }
}

/** Client processes, compiled as the gateway is: they share its cores (compiled.ts). */
async function spawnWorkers (count: number): Promise<Workers> {
  const script = await compiledScript(workerEntry)
  const all: ChildProcess[] = Array.from({ length: count }, () => fork(script, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const status = async (): Promise<IdleStatus[]> => await Promise.all(all.map(async (w) => await new Promise<IdleStatus>((resolve) => {
    w.once('message', (m: IdleStatus) => { resolve(m) })
    w.send({ type: 'status' } satisfies IdleCommand)
  })))
  await status() // every worker has loaded
  return { all, status, close: () => { for (const w of all) w.send({ type: 'close' } satisfies IdleCommand) } }
}

/** Deals the tokens out to the workers, each connecting from its own 127.0.0.x. */
function openAll (workers: Workers, url: string, tokens: string[]): void {
  const n = workers.all.length
  workers.all.forEach((w, i) => {
    w.send({ type: 'open', url, tokens: tokens.filter((_, k) => k % n === i), localAddress: `127.0.0.${i + 2}`, concurrency: 200 } satisfies IdleCommand)
  })
}

/** Waits until `count` sockets are ready (or nothing moved for 30 s); returns when the last one became ready. */
async function allReady (workers: Workers, count: number): Promise<{ at: number, ready: number, failed: number }> {
  let last = -1
  let movedAt = Date.now()
  for (;;) {
    const all = await workers.status()
    const n = total(all, 'ready')
    if (n !== last) { last = n; movedAt = Date.now() }
    if (n >= count || Date.now() - movedAt > 30_000) return { at: Math.max(...all.map((s) => s.lastReadyAt)), ready: n, failed: total(all, 'failed') }
    await sleep(200)
  }
}

/** The ceiling: the same storm against the bare relay, which checks nothing and answers `ready` at once. */
async function relayStorm (users: string[], workerCount: number, log: (line: string) => void): Promise<IdleSocketsResult['ceiling']> {
  const relay = await startRelay()
  const workers = await spawnWorkers(workerCount)
  try {
    const cpuBefore = (await relay.stats()).cpuSeconds
    const natsBefore = await processCpuSeconds('nats-server') ?? 0
    const clientCpuBefore = total(await workers.status(), 'cpuSeconds')
    const dropsBefore = await listenDrops()
    const startedAt = Date.now()
    openAll(workers, `ws://127.0.0.1:${relay.port}/`, users)
    const done = await allReady(workers, users.length)
    const perConnect = (seconds: number): number => seconds * 1e6 / done.ready
    const ceiling = {
      connectPerSecond: done.ready / ((done.at - startedAt) / 1000),
      cpuMicrosPerConnect: perConnect((await relay.stats()).cpuSeconds - cpuBefore),
      natsMicrosPerConnect: perConnect((await processCpuSeconds('nats-server') ?? 0) - natsBefore),
      clientMicrosPerConnect: perConnect(total(await workers.status(), 'cpuSeconds') - clientCpuBefore),
      listenDrops: since(dropsBefore, await listenDrops())
    }
    log(`bare relay: ${done.ready} of ${users.length} sockets ready at ${ceiling.connectPerSecond.toFixed(0)}/s, ${done.failed} refused; CPU per connect: relay ${ceiling.cpuMicrosPerConnect.toFixed(0)} µs, nats-server ${ceiling.natsMicrosPerConnect.toFixed(0)} µs, clients ${ceiling.clientMicrosPerConnect.toFixed(0)} µs; ${ceiling.listenDrops ?? '?'} dropped for a full accept queue`)
    return ceiling
  } finally {
    workers.close()
    await relay.stop()
  }
}
