import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { connect, headers } from '@nats-io/transport-node'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { ensureStream, namespace } from '@metadome/nats'
import { chatStream, chatSubjects, directConversationId, type StreamMessage } from '@metadome/contracts'
import { adminDatabaseUrl, deleteNamespace, testNatsUrl } from '@metadome/testing'
import { WriterConfig } from '../apps/message-writer/src/config.js'
import { buildApp } from '../apps/message-writer/src/app.js'
import type { BatchReport } from '../apps/message-writer/src/writer/chat-writer.js'
// The app's decorations (app.chatWriter, app.chatDb), for the type checker.
import type {} from '../apps/message-writer/src/plugins/app/writers.js'
import type {} from '../apps/message-writer/src/plugins/external/db.js'
import { percentile } from './ws-load.js'
import { ownCpuSeconds } from './process-cpu.js'

export interface BenchWriterOptions {
  /** NATS to use; a fresh namespace is made in it and deleted after. */
  natsUrl?: string
  /** A PostgreSQL URL allowed to create databases; a fresh one is made and dropped after. */
  adminDatabaseUrl?: string
  /** Messages in the throughput phase (a backlog the writer drains). */
  messages?: number
  /** Direct conversations the messages are spread over. */
  conversations?: number
  /** Size of each message body (an opaque, E2EE-envelope-like JSON object). */
  bodyBytes?: number
  /** Messages per second published in the lag phase; default half the measured throughput, at most 20k. */
  lagRate?: number
  /** Length of the lag phase. */
  lagSeconds?: number
  /** Writer variables, as strings (WRITER_BATCH_SIZE, WRITER_BATCHES_IN_FLIGHT, ...). */
  env?: Record<string, string>
  /** Progress lines. */
  log?: (line: string) => void
}

export interface BenchWriterResult {
  /** Rows per second stored while draining a backlog of `messages` (from the writer's start to its last commit). */
  rowsPerSecond: number
  /**
   * The ceiling: messages per second a bare consumer drains from the same
   * backlog with the writer's pull settings, acking each and doing nothing
   * else (no decoding, no database).
   */
  consumeAckPerSecond: number
  /** CPU of this process per message for that bare consumer, in µs: the writer's floor. */
  consumeAckCpuMicrosPerMessage: number
  /** 99th percentile of (commit time - sentAt) at `lagRate`, in ms. */
  ackToRowLagP99Ms: number
  ackToRowLagP50Ms: number
  lagRate: number
  messages: number
  drainSeconds: number
  /**
   * CPU of this process per stored row while draining, in µs. The writer
   * runs in this process and the backlog was published before, so during
   * the drain this is the writer's own CPU (plus a sampler's query every
   * 250 ms).
   */
  writerCpuMicrosPerRow: number
  /**
   * CPU of the PostgreSQL backends connected to the bench's database (the
   * writer's pool, and autovacuum when it works there) per stored row while
   * draining, in µs; undefined without /proc. Not the WAL writer, checkpointer
   * nor bgwriter, which serve the whole cluster (other databases on this
   * machine are in use by others).
   */
  postgresCpuMicrosPerRow: number | undefined
  /** Every published message is in PostgreSQL exactly once. */
  exactlyOnce: boolean
}


/**
 * message-writer's throughput and lag, in process, against a real NATS and
 * PostgreSQL:
 * 1. `messages` are published to a fresh namespace's CHAT first, then the
 *    writer starts and drains them: rows per second from its start until the
 *    last commit (the writer alone, not sharing the CPU with publishers);
 * 2. then messages are published at `lagRate` for `lagSeconds` while the
 *    writer runs: the lag from each message's sentAt (set when published) to
 *    the commit that stored it, as the writer measures it for its metric.
 */
export async function benchWriter (opts: BenchWriterOptions = {}): Promise<BenchWriterResult> {
  const log = opts.log ?? (() => {})
  const natsUrl = opts.natsUrl ?? testNatsUrl()
  const adminUrl = opts.adminDatabaseUrl ?? adminDatabaseUrl()
  const total = opts.messages ?? 100_000
  const conversationCount = opts.conversations ?? 1_000
  const lagSeconds = opts.lagSeconds ?? 5

  const dbName = `mdbench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database "${dbName}"`)
  await admin.end()
  const dbUrl = new URL(adminUrl)
  dbUrl.pathname = `/${dbName}`
  const ns = namespace(`bench${randomBytes(4).toString('hex')}`)
  // No async traces: each publish would otherwise build an Error for its stack.
  const nc = await connect({ servers: natsUrl.split(','), noAsyncTraces: true })

  try {
    const jsm = await jetstreamManager(nc)
    const js = jetstream(nc)
    await ensureStream(jsm, chatStream(ns))
    const subjects = chatSubjects(ns)

    const users = Array.from({ length: Math.ceil(Math.sqrt(conversationCount * 2)) + 1 }, () => randomUUID())
    const pairs: Array<[string, string]> = []
    for (let i = 0; pairs.length < conversationCount; i++) {
      const a = users[i % users.length] as string
      const b = users[(i + 1 + Math.floor(i / users.length)) % users.length] as string
      if (a !== b) pairs.push([a, b])
    }
    const body = { v: 1, alg: 'xchacha20poly1305', nonce: randomBytes(24).toString('base64url'), ciphertext: randomBytes(Math.max(16, Math.floor((opts.bodyBytes ?? 512) * 0.7))).toString('base64url') }
    const message = (i: number): StreamMessage => {
      const [from, to] = pairs[i % pairs.length] as [string, string]
      return { id: randomUUID(), conversationId: directConversationId(from, to), senderId: from, sentAt: new Date().toISOString(), body }
    }
    const published = new Set<string>()
    // Acked publishes (as gateways do) to fill the backlog; for the lag phase
    // plain publishes with the same Nats-Msg-Id, which the stream stores just
    // the same, so the bench's own publisher takes as little CPU as possible
    // from the writer it measures in the same process.
    const publish = async (m: StreamMessage): Promise<void> => {
      await js.publish(subjects.message(m.conversationId), JSON.stringify(m), { msgID: m.id })
      published.add(m.id)
    }
    const publishNoAck = (m: StreamMessage): void => {
      const h = headers()
      h.set('Nats-Msg-Id', m.id)
      nc.publish(subjects.message(m.conversationId), JSON.stringify(m), { headers: h })
      published.add(m.id)
    }

    log(`publishing ${total} messages over ${pairs.length} conversations`)
    let window: Array<Promise<void>> = []
    for (let i = 0; i < total; i++) {
      window.push(publish(message(i)))
      if (window.length === 2_000) { await Promise.all(window); window = [] }
    }
    await Promise.all(window)

    const bare = await drainBare(jsm, js, chatStream(ns).name, total)
    const consumeAckPerSecond = bare.perSecond
    log(`bare consumer (ceiling): consumed and acked ${total} in ${(total / consumeAckPerSecond).toFixed(2)} s: ${Math.round(consumeAckPerSecond)} messages/s`)

    const config = loadConfig(WriterConfig, {
      DATABASE_URL: dbUrl.toString(),
      NATS_URL: natsUrl,
      NATS_NAMESPACE: ns.prefix,
      LOG_LEVEL: 'warn',
      // WRITER_BATCH_SIZE and the like from the environment, to compare settings.
      ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WRITER_') && e[1] !== undefined)),
      ...opts.env
    })
    let stored = 0
    let lags: number[] = []
    let onStored: (() => void) | undefined
    let target = total
    const building = performance.now()
    const app = await buildApp(config, { logger: createLogger({ name: 'message-writer', level: 'warn', format: 'json' }) })
    // From here the writer is consuming; migrations and stream set-up are a
    // one-time cost at start, reported apart.
    const started = performance.now()
    const cpuStarted = ownCpuSeconds()
    const postgres = await postgresBackendsCpu(adminUrl, dbName)
    const profiler = process.env.BENCH_PROFILE === undefined ? undefined : await startProfile()
    log(`writer started in ${((started - building) / 1000).toFixed(2)} s (migrations of a fresh database, streams, consumers)`)
    try {
      const reached = new Promise<void>((resolve) => { onStored = resolve })
      app.chatWriter.on('batch', (r: BatchReport) => {
        stored += r.stored
        lags.push(...r.lagsMs)
        if (stored >= target) onStored?.()
      })
      await reached
      const drainSeconds = (performance.now() - started) / 1000
      const writerCpuMicrosPerRow = Math.round((ownCpuSeconds() - cpuStarted) / total * 1e7) / 10
      const postgresSeconds = await postgres.stop()
      const postgresCpuMicrosPerRow = postgresSeconds === undefined ? undefined : Math.round(postgresSeconds / total * 1e7) / 10
      if (profiler !== undefined && process.env.BENCH_PROFILE !== undefined) log(`profile of the drain: ${await profiler.stop(process.env.BENCH_PROFILE)}`)
      const rowsPerSecond = Math.round(total / drainSeconds)
      log(`drained ${total} in ${drainSeconds.toFixed(2)} s: ${rowsPerSecond} rows/s; CPU per row: writer ${writerCpuMicrosPerRow} µs, PostgreSQL backends ${postgresCpuMicrosPerRow ?? '-'} µs`)

      const lagRate = opts.lagRate ?? Math.min(20_000, Math.floor(rowsPerSecond / 2))
      log(`publishing ${lagRate} messages/s for ${lagSeconds} s`)
      lags = []
      const lagTotal = lagRate * lagSeconds
      target = total + lagTotal
      const lagReached = new Promise<void>((resolve) => { onStored = resolve })
      const tickMs = 10
      const perTick = lagRate * tickMs / 1000
      const phaseStart = performance.now()
      let sent = 0
      while (sent < lagTotal) {
        const due = Math.min(lagTotal, Math.floor((performance.now() - phaseStart) / tickMs * perTick) + Math.ceil(perTick))
        for (; sent < due; sent++) publishNoAck(message(sent))
        await new Promise((resolve) => setTimeout(resolve, tickMs))
      }
      await nc.flush()
      await lagReached
      lags.sort((a, b) => a - b)

      const { rows: [counts] } = await app.chatDb.selectFrom('messages').select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.count<string>('id').distinct().as('ids')]).execute()
        .then((rows) => ({ rows }))
      const exactlyOnce = Number(counts?.n) === published.size && Number(counts?.ids) === published.size
      return {
        rowsPerSecond,
        consumeAckPerSecond: Math.round(consumeAckPerSecond),
        consumeAckCpuMicrosPerMessage: Math.round(bare.cpuSeconds / total * 1e7) / 10,
        ackToRowLagP99Ms: Math.round(percentile(lags, 0.99) * 10) / 10,
        ackToRowLagP50Ms: Math.round(percentile(lags, 0.5) * 10) / 10,
        lagRate,
        messages: total,
        drainSeconds: Math.round(drainSeconds * 100) / 100,
        writerCpuMicrosPerRow,
        postgresCpuMicrosPerRow,
        exactlyOnce
      }
    } finally {
      await app.close()
    }
  } finally {
    await nc.close()
    await deleteNamespace(natsUrl, ns.prefix)
    const c = new pg.Client({ connectionString: adminUrl })
    await c.connect()
    await c.query(`drop database if exists "${dbName}" with (force)`)
    await c.end()
  }
}

/**
 * Messages per second that a durable pull consumer of its own drains from
 * `stream` (which holds `total`), acking each one: what the writer's
 * consume loop could reach if storing cost nothing. Pulls as the writer does
 * by default (500 a batch, 3 batches asked for).
 */
async function drainBare (jsm: JetStreamManager, js: JetStreamClient, stream: string, total: number): Promise<{ perSecond: number, cpuSeconds: number }> {
  const durable = 'bench_bare'
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 })
  try {
    const consumer = await js.consumers.get(stream, durable)
    const started = performance.now()
    const cpuStarted = ownCpuSeconds()
    const messages = await consumer.consume({ max_messages: 1_500 })
    let n = 0
    for await (const m of messages) {
      m.ack()
      if (++n === total) break
    }
    const seconds = (performance.now() - started) / 1000
    const cpuSeconds = ownCpuSeconds() - cpuStarted
    await messages.close()
    return { perSecond: total / seconds, cpuSeconds }
  } finally {
    await jsm.consumers.delete(stream, durable)
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (as in process-cpu.ts). */
const TICKS_PER_SECOND = 100

/** utime + stime of one process in ticks, or undefined once it is gone (or without /proc). */
async function processTicks (pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ...": comm may hold spaces, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return undefined
  }
}

/**
 * CPU of the PostgreSQL backends connected to database `dbName` from now
 * until stop(): every 250 ms pg_stat_activity names them (a pool opens
 * connections as it needs them), and each one's /proc CPU is read; stop()
 * returns the sum of what each used since it was first seen (since it
 * started, for those that appeared later). The sampler's own backend is on
 * another database. A backend that exits between two samples loses at most
 * its last 250 ms; the writer's pool keeps its connections while busy.
 */
async function postgresBackendsCpu (adminUrl: string, dbName: string): Promise<{ stop: () => Promise<number | undefined> }> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  const seen = new Map<number, { first: number, last: number }>()
  let available = true
  const sample = async (initial: boolean): Promise<void> => {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName])
    for (const { pid } of rows) {
      const ticks = await processTicks(pid)
      if (ticks === undefined) { if (initial) available = false; continue }
      const s = seen.get(pid)
      if (s === undefined) seen.set(pid, { first: initial ? ticks : 0, last: ticks })
      else s.last = ticks
    }
  }
  await sample(true)
  let sampling = Promise.resolve()
  const timer = setInterval(() => { sampling = sampling.then(async () => { await sample(false) }).catch(() => {}) }, 250)
  return {
    stop: async () => {
      clearInterval(timer)
      await sampling
      await sample(false)
      await client.end()
      if (!available) return undefined
      let ticks = 0
      for (const s of seen.values()) ticks += s.last - s.first
      return ticks / TICKS_PER_SECOND
    }
  }
}

/**
 * BENCH_PROFILE: a V8 CPU profile of this process while the writer drains
 * the backlog (the writer runs in it), written as a .cpuprofile for Chrome
 * DevTools or speedscope. Profiling slows the writer; compare figures from
 * runs without it.
 */
async function startProfile (): Promise<{ stop: (folder: string) => Promise<string> }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    stop: async (folder) => {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      await mkdir(folder, { recursive: true })
      const file = join(folder, `writer-drain-${Date.now()}.cpuprofile`)
      await writeFile(file, JSON.stringify(profile))
      return file
    }
  }
}

// `node --import tsx --conditions=@metadome/source bench/writer.ts [messages]`
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const messages = Number(process.argv[2] ?? 100_000)
  const result = await benchWriter({ messages, log: (line) => { console.error(`  ${line}`) } })
  console.log(JSON.stringify(result, null, 2))
}
