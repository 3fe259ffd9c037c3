import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { WebSocketServer } from 'ws'
import { connect } from '@nats-io/transport-node'
import { testNatsUrl } from '@metadome/testing'
import { ownCpuSeconds, processCpuSeconds } from './process-cpu.js'
import { closeAll, measureIdleMemory, measureLatency, measureThroughput, openPairs, openSocket, type ChatTarget } from './ws-load.js'

// The ceiling chat-gateway is compared with: a bare relay, a WebSocket server
// that publishes what a client sends to core NATS on the recipient's subject
// and writes what arrives on its users' subjects to their sockets. No auth,
// no validation, no persistence, no ack. It runs as a child process of its
// own (this file, run directly) so its CPU and memory are measured apart from
// the load generator, as the gateway's are.

export interface ChatBenchOptions {
  natsUrl?: string
  /** Sender/receiver pairs in the throughput and latency phases. */
  pairs?: number
  /** Messages each sender keeps in flight at saturation. */
  window?: number
  bodyBytes?: number
  seconds?: number
  /** Idle sockets for the memory measurement. */
  idleSockets?: number
  log?: (line: string) => void
}

export interface ChatBenchResult {
  /** Delivered messages per second at saturation. */
  deliveredPerSecond: number
  /** Server CPU time (user + system) per delivered message at saturation, in µs. */
  cpuMicrosPerMessage: number
  /** The same for the other processes on the path (nats-server, the load generator, ...), by name. */
  otherCpuMicrosPerMessage: Record<string, number>
  /** End-to-end latency at half of that rate. */
  latencyP50Ms: number
  latencyP99Ms: number
  latencyRate: number
  /** Server RSS growth per idle socket, in bytes. */
  bytesPerIdleSocket: number
  idleSockets: number
}

export interface ServerProcess {
  port: number
  stop: () => Promise<void>
}

/** Runs a TypeScript entry point as a child process and waits for the line `listening <port>`. */
export async function spawnListening (entry: string, env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@metadome/source', entry], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line)
      if (m !== null) resolve(Number(m[1]))
    })
  })
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

async function runRelayServer (): Promise<void> {
  const nc = await connect({ servers: (process.env.NATS_URL ?? testNatsUrl()).split(',') })
  const prefix = process.env.RELAY_PREFIX ?? 'relay'
  const server = createServer((req, res) => {
    const cpu = process.cpuUsage()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ rss: process.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
  })
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (ws, req) => {
    const userId = new URL(req.url ?? '/', 'http://relay').searchParams.get('user') ?? ''
    const sub = nc.subscribe(`${prefix}.u.${userId}`, { callback: (_err, msg) => { ws.send(msg.data) } })
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { to: string }
      nc.publish(`${prefix}.u.${frame.to}`, data as Buffer)
    })
    ws.on('close', () => { sub.unsubscribe() })
    ws.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
  })
  process.once('SIGTERM', () => {
    wss.close()
    server.close()
    void nc.close().then(() => process.exit(0))
  })
}

/** The workload of ws-load.ts against any server, once the target is up. */
/** What the workload reads from the server process. */
export interface ServerStats {
  /** Resident set size, bytes. */
  rss: () => Promise<number>
  /** CPU time used so far (user + system), seconds. */
  cpuSeconds: () => Promise<number>
  /** The same for other processes on the message path, by name; the load generator and nats-server are added. */
  otherCpuSeconds?: () => Promise<Record<string, number>>
}

/** CPU seconds of the processes every workload shares: nats-server (when it runs here) and this load generator. */
async function sharedCpuSeconds (): Promise<Record<string, number>> {
  const nats = await processCpuSeconds('nats-server')
  return { ...(nats === undefined ? {} : { 'nats-server': nats }), 'load generator': ownCpuSeconds() }
}

export async function runChatWorkload (target: ChatTarget, stats: ServerStats, opts: ChatBenchOptions): Promise<ChatBenchResult> {
  const log = opts.log ?? (() => {})
  const bodyBytes = opts.bodyBytes ?? 256
  const seconds = opts.seconds ?? 5
  const idleSockets = opts.idleSockets ?? 10_000
  const pairs = await openPairs(target, opts.pairs ?? 50)
  try {
    await target.prepare?.(pairs.flatMap((p) => [p.senderId, p.receiverId]))
    const throughput = await measureThroughput(target, pairs, {
      seconds,
      window: opts.window ?? 20,
      bodyBytes,
      cpuSeconds: stats.cpuSeconds,
      otherCpuSeconds: async () => ({ ...await stats.otherCpuSeconds?.(), ...await sharedCpuSeconds() })
    })
    const deliveredPerSecond = throughput.perSecond
    log(`  delivered ${Math.round(deliveredPerSecond)} messages/s at saturation, ${Math.round(throughput.cpuMicrosPerMessage)} µs of server CPU each`)
    const latencyRate = Math.max(1, Math.floor(deliveredPerSecond / 2))
    const latency = await measureLatency(target, pairs, { rate: latencyRate, seconds, bodyBytes })
    log(`  latency at ${latencyRate}/s: p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms (${latency.samples} samples)`)
    const memory = await measureIdleMemory(target, { count: idleSockets, concurrency: 100, rss: stats.rss })
    closeAll(memory.sockets)
    log(`  ${Math.round(memory.bytesPerSocket)} bytes of RSS per idle socket at ${idleSockets}`)
    return {
      deliveredPerSecond,
      cpuMicrosPerMessage: throughput.cpuMicrosPerMessage,
      otherCpuMicrosPerMessage: throughput.otherCpuMicrosPerMessage,
      latencyP50Ms: latency.p50Ms,
      latencyP99Ms: latency.p99Ms,
      latencyRate,
      bytesPerIdleSocket: memory.bytesPerSocket,
      idleSockets
    }
  } finally {
    closeAll(pairs.flatMap((p) => [p.sender, p.receiver]))
  }
}

/** The bare relay ceiling: throughput, latency at half of it, memory per idle socket. */
export async function benchRelay (opts: ChatBenchOptions = {}): Promise<ChatBenchResult> {
  const relay = await spawnListening(fileURLToPath(import.meta.url), {
    ...process.env,
    RELAY_SERVER: '1',
    NATS_URL: opts.natsUrl ?? testNatsUrl(),
    RELAY_PREFIX: `relay${randomBytes(4).toString('hex')}`
  })
  const base = `127.0.0.1:${relay.port}`
  const target: ChatTarget = {
    open: async (userId) => await openSocket(`ws://${base}/?user=${userId}`),
    sendFrame: (to, id, body) => JSON.stringify({ to, id, body }),
    delivered: (data) => (JSON.parse(data.toString()) as { body?: Record<string, unknown> }).body
  }
  const stat = async (): Promise<{ rss: number, cpuSeconds: number }> => (await (await fetch(`http://${base}/stats`)).json()) as { rss: number, cpuSeconds: number }
  try {
    return await runChatWorkload(target, { rss: async () => (await stat()).rss, cpuSeconds: async () => (await stat()).cpuSeconds }, opts)
  } finally {
    await relay.stop()
  }
}

if (process.env.RELAY_SERVER === '1' && process.argv[1] === fileURLToPath(import.meta.url)) {
  await runRelayServer()
}
