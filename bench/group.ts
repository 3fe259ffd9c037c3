import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import type WebSocket from 'ws'
import { connect } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { ensureStream, namespace } from '@metadome/nats'
import { chatRpc, usersStream, userEventSubject } from '@metadome/contracts'
import { adminDatabaseUrl, deleteNamespace, freePort, testNatsUrl, until } from '@metadome/testing'
import { startJwksServer } from '@metadome/e2e'
import { spawnListening } from './relay.js'
import { LOAD_GENERATOR_LIMITS, startApp } from './gateway.js'
import { WRITER_NODE_ARGS } from './writer-node-args.js'
import { closeAll, openSocket } from './ws-load.js'

// Group fan-out: one sender, `members` members spread over two servers. The
// same workload on two chat-gateways (with message-writer; every message
// stored by CHAT, acked, and fanned out by each gateway to the members it
// holds from one subscription per conversation) and on two bare relays (one
// core NATS publish per message, one subscription per member socket, no
// auth, storage or ack): the ceiling.

export interface GroupBenchOptions {
  natsUrl?: string
  adminDatabaseUrl?: string
  members?: number
  /** Messages the sender keeps in flight at saturation. */
  window?: number
  bodyBytes?: number
  seconds?: number
  log?: (line: string) => void
}

export interface GroupFigures {
  /** Deliveries (one message to one member) per second at saturation. */
  deliveredPerSecond: number
  /** Per-delivery latency at half that rate. */
  latencyP50Ms: number
  latencyP99Ms: number
  /** Messages per second sent in the latency phase. */
  latencyRate: number
}

export interface GroupBenchResult { members: number, relay: GroupFigures, gateway: GroupFigures }

interface GroupTarget {
  sender: WebSocket
  members: WebSocket[]
  sendFrame: (id: string, body: Record<string, unknown>) => string
  delivered: (data: string) => Record<string, unknown> | undefined
}

function percentile (sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

/** Saturation (the sender keeps `window` messages ahead of the first member), then latency at half of it. */
async function runGroupWorkload (target: GroupTarget, opts: { seconds: number, window: number, bodyBytes: number }): Promise<GroupFigures> {
  const padding = randomBytes(Math.ceil(opts.bodyBytes * 0.75)).toString('base64').slice(0, opts.bodyBytes)
  let deliveries = 0
  let firstGot = 0
  const latencies: number[] = []
  let measuring = false
  let wake: (() => void) | undefined
  for (const [i, ws] of target.members.entries()) {
    ws.on('message', (data: WebSocket.RawData) => {
      const body = target.delivered(data.toString())
      if (body === undefined) return
      deliveries++
      if (measuring) latencies.push(performance.now() - (body.t as number))
      if (i === 0) {
        firstGot++
        wake?.()
      }
    })
  }
  let sent = 0
  const send = (): void => { target.sender.send(target.sendFrame(randomUUID(), { v: 1, n: sent++, t: performance.now(), ciphertext: padding })) }

  const startDeliveries = deliveries
  const started = performance.now()
  const end = started + opts.seconds * 1000
  while (performance.now() < end) {
    while (sent - firstGot < opts.window) send()
    await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50) })
  }
  const deliveredPerSecond = (deliveries - startDeliveries) / ((performance.now() - started) / 1000)
  // Let the backlog drain before measuring latency.
  await until(() => firstGot >= sent, 60_000, 'the backlog to drain')
  await new Promise((resolve) => setTimeout(resolve, 500))

  const latencyRate = Math.max(1, Math.floor(deliveredPerSecond / target.members.length / 2))
  measuring = true
  const t0 = performance.now()
  for (let k = 0; performance.now() - t0 < opts.seconds * 1000; k++) {
    const due = t0 + (k * 1000) / latencyRate
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    send()
  }
  await until(() => firstGot >= sent, 60_000, 'the last messages')
  await new Promise((resolve) => setTimeout(resolve, 500))
  const sorted = latencies.sort((a, b) => a - b)
  return { deliveredPerSecond, latencyP50Ms: percentile(sorted, 0.5), latencyP99Ms: percentile(sorted, 0.99), latencyRate }
}

/** Two bare relays on one NATS subject prefix; every member socket follows the group's subject. */
async function benchRelayGroup (opts: Required<Pick<GroupBenchOptions, 'members' | 'window' | 'bodyBytes' | 'seconds'>> & { natsUrl: string }): Promise<GroupFigures> {
  const prefix = `relay${randomBytes(4).toString('hex')}`
  const entry = fileURLToPath(new URL('./relay.ts', import.meta.url))
  const env = { ...process.env, RELAY_SERVER: '1', NATS_URL: opts.natsUrl, RELAY_PREFIX: prefix }
  const relays = [await spawnListening(entry, env), await spawnListening(entry, env)]
  const group = randomUUID()
  const sockets: WebSocket[] = []
  try {
    const sender = await openSocket(`ws://127.0.0.1:${relays[0]?.port}/?user=${randomUUID()}`)
    sockets.push(sender)
    const members: WebSocket[] = []
    for (let i = 0; i < opts.members; i++) members.push(await openSocket(`ws://127.0.0.1:${relays[i % 2]?.port}/?user=${group}`))
    sockets.push(...members)
    return await runGroupWorkload({
      sender,
      members,
      sendFrame: (id, body) => JSON.stringify({ to: group, id, body }),
      delivered: (data) => (JSON.parse(data) as { body?: Record<string, unknown> }).body
    }, opts)
  } finally {
    closeAll(sockets)
    for (const r of relays) await r?.stop()
  }
}

async function benchGatewayGroup (opts: Required<Pick<GroupBenchOptions, 'members' | 'window' | 'bodyBytes' | 'seconds'>> & { natsUrl: string, adminUrl: string, log: (line: string) => void }): Promise<GroupFigures> {
  const cleanups: Array<() => unknown> = []
  const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
  try {
    const dbName = `mdbench_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: opts.adminUrl })
    await admin.connect()
    await admin.query(`create database "${dbName}"`)
    await admin.end()
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: opts.adminUrl })
      await c.connect()
      await c.query(`drop database if exists "${dbName}" with (force)`)
      await c.end()
    })
    const databaseUrl = new URL(opts.adminUrl)
    databaseUrl.pathname = `/${dbName}`
    const ns = namespace(`bench${randomBytes(4).toString('hex')}`)
    cleanups.push(async () => { await deleteNamespace(opts.natsUrl, ns.prefix) })
    const nc = await connect({ servers: opts.natsUrl.split(',') })
    cleanups.push(async () => { await nc.close() })
    await ensureStream(await jetstreamManager(nc), usersStream(ns))
    const js = jetstream(nc)
    const rpc = chatRpc(nc, ns, { timeoutMs: 5_000 })
    const jwks = await startJwksServer(teardown)

    const writerPort = await freePort()
    const writer = await startApp('apps/message-writer/src/server.ts', {
      DATABASE_URL: databaseUrl.toString(), NATS_URL: opts.natsUrl, NATS_NAMESPACE: ns.prefix, PORT: String(writerPort)
    }, `http://127.0.0.1:${writerPort}/readyz`, WRITER_NODE_ARGS)
    cleanups.push(writer.stop)
    const ports: number[] = []
    for (let i = 0; i < 2; i++) {
      const port = await freePort()
      const gateway = await startApp('apps/chat-gateway/src/server.ts', {
        NATS_URL: opts.natsUrl, NATS_NAMESPACE: ns.prefix, PORT: String(port), AUTH_URL: jwks.url, ...LOAD_GENERATOR_LIMITS
      }, `http://127.0.0.1:${port}/readyz`)
      cleanups.push(gateway.stop)
      ports.push(port)
    }
    opts.log(`  gateways on ${ports.join(' and ')}, message-writer on ${writerPort}, namespace ${ns.prefix}`)

    const senderId = randomUUID()
    const memberIds = Array.from({ length: opts.members }, () => randomUUID())
    for (const userId of [senderId, ...memberIds]) {
      const id = randomUUID()
      const event = { id, type: 'registered', occurredAt: new Date().toISOString(), user: { id: userId, username: `g${userId.slice(0, 8)}`, displayName: 'Bench' } }
      await js.publish(userEventSubject(ns, 'registered'), JSON.stringify(event), { msgID: id })
    }
    await until(async () => (await rpc.call('users.get', { userId: memberIds.at(-1) as string })).user !== null, 30_000, 'the writer to know the users')

    const open = async (userId: string, i: number): Promise<WebSocket> => await openSocket(`ws://127.0.0.1:${ports[i % 2]}/v1/ws`, { authorization: `Bearer ${jwks.token(userId)}` }, 'ready')
    const sender = await open(senderId, 0)
    const members: WebSocket[] = []
    for (const [i, userId] of memberIds.entries()) members.push(await open(userId, i))
    cleanups.push(() => { closeAll([sender, ...members]) })

    // The sender is the owner; the members are everyone else (the sender gets acks, not copies).
    const joined = members.map(async (ws) => await new Promise<void>((resolve) => {
      const onMessage = (data: WebSocket.RawData): void => {
        if (data.toString().includes('"type":"conversation"')) { ws.off('message', onMessage); resolve() }
      }
      ws.on('message', onMessage)
    }))
    const created = new Promise<string>((resolve, reject) => {
      sender.on('message', (data: WebSocket.RawData) => {
        const f = JSON.parse(data.toString()) as { type: string, ref?: string, conversation?: { id: string }, message?: string }
        if (f.ref === 'create' && f.type === 'conversation' && f.conversation !== undefined) resolve(f.conversation.id)
        if (f.ref === 'create' && f.type === 'error') reject(new Error(f.message))
      })
    })
    sender.send(JSON.stringify({ type: 'group', op: 'create', title: 'bench', members: memberIds, ref: 'create' }))
    const conversationId = await created
    await Promise.all(joined)

    return await runGroupWorkload({
      sender,
      members,
      sendFrame: (id, body) => JSON.stringify({ type: 'send', id, conversationId, body }),
      delivered (data) {
        if (!data.startsWith('{"type":"message"')) return undefined
        return (JSON.parse(data) as { message: { body: Record<string, unknown> } }).message.body
      }
    }, opts)
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (err) {
        opts.log(`  cleanup failed: ${String(err)}`)
      }
    }
  }
}

/** Group fan-out on the bare relay and on chat-gateway, in one run. */
export async function benchGroup (opts: GroupBenchOptions = {}): Promise<GroupBenchResult> {
  const log = opts.log ?? (() => {})
  const common = { members: opts.members ?? 100, window: opts.window ?? 20, bodyBytes: opts.bodyBytes ?? 256, seconds: opts.seconds ?? 5, natsUrl: opts.natsUrl ?? testNatsUrl() }
  const relay = await benchRelayGroup(common)
  log(`  relay: ${Math.round(relay.deliveredPerSecond)} deliveries/s; at ${relay.latencyRate} messages/s p50 ${relay.latencyP50Ms.toFixed(2)} ms, p99 ${relay.latencyP99Ms.toFixed(2)} ms`)
  const gateway = await benchGatewayGroup({ ...common, adminUrl: opts.adminDatabaseUrl ?? adminDatabaseUrl(), log })
  log(`  gateway: ${Math.round(gateway.deliveredPerSecond)} deliveries/s; at ${gateway.latencyRate} messages/s p50 ${gateway.latencyP50Ms.toFixed(2)} ms, p99 ${gateway.latencyP99Ms.toFixed(2)} ms`)
  return { members: common.members, relay, gateway }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchGroup({ seconds: Number(process.env.BENCH_SECONDS ?? 5), log: (line) => { process.stderr.write(`${line}\n`) } })
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
}
