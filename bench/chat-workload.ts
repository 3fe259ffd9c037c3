import { randomUUID } from 'node:crypto'
import { LoadGenerators } from './load.js'
import { openEndpoint, type PairSpec } from './wire.js'
import { closeAll, measureIdleMemory, type ChatTarget } from './ws-load.js'

// The direct-message workload, the same for every server measured (the bare
// relay, chat-gateway, Socket.IO with its Redis adapter): `pairs` pairs of
// users, the sender on the first server and the recipient on the last, driven
// by several load-generator processes (bench/load.ts). First memory per idle
// socket, then saturation, then latency at fractions of that peak (the curve
// of the chart; half of peak is the table's figure).

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
  /** Server processes: senders connect to the first, recipients to the last (2: every message crosses the broker between servers). */
  servers?: number
  /** Load-generator processes. */
  loadWorkers?: number
  /** Offered loads of the latency phase, as fractions of the measured peak; 0.5 is always among them. */
  loadPoints?: number[]
  log?: (line: string) => void
}

export interface LatencyPoint {
  /** Offered load, messages/s, and as a fraction of the peak. */
  rate: number
  fraction: number
  p50Ms: number
  p99Ms: number
  samples: number
  sent: number
}

export interface ChatBenchResult {
  /** Delivered messages per second at saturation. */
  deliveredPerSecond: number
  /** CPU time (user + system) of the server processes per delivered message at saturation, in µs. */
  cpuMicrosPerMessage: number
  /** The same for the other processes on the path (nats-server, message-writer, redis-server, ...), by name. */
  otherCpuMicrosPerMessage: Record<string, number>
  /** The load generators: how many, their CPU per message and the busiest one's share of a core (near 100 %: the client was the cap). */
  loadGenerators: { processes: number, cpuMicrosPerMessage: number, busiestCorePercent: number }
  /** End-to-end latency at half of the peak. */
  latencyP50Ms: number
  latencyP99Ms: number
  latencyRate: number
  latencyCurve: LatencyPoint[]
  /** Server RSS growth per idle socket, in bytes. */
  bytesPerIdleSocket: number
  idleSockets: number
  servers: number
}

/** What the workload reads from the server processes. */
export interface ServerStats {
  /** Resident set size of the server the idle sockets go to (the senders' one), bytes. */
  rss: () => Promise<number>
  /** CPU time used so far by all the server processes (user + system), seconds. */
  cpuSeconds: () => Promise<number>
  /** The same for other processes on the message path, by name. */
  otherCpuSeconds?: () => Promise<Record<string, number>>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export async function runChatWorkload (target: ChatTarget, stats: ServerStats, opts: ChatBenchOptions): Promise<ChatBenchResult> {
  const log = opts.log ?? (() => {})
  const bodyBytes = opts.bodyBytes ?? 256
  const seconds = opts.seconds ?? 5
  const idleSockets = opts.idleSockets ?? 10_000
  const fractions = [...new Set([...(opts.loadPoints ?? [0.25, 0.5, 0.75, 0.9]), 0.5])].sort((a, b) => a - b)
  const pairs: PairSpec[] = Array.from({ length: opts.pairs ?? 50 }, () => {
    const senderId = randomUUID()
    const receiverId = randomUUID()
    return { senderId, receiverId, sender: target.endpoint(senderId, 'sender'), receiver: target.endpoint(receiverId, 'receiver') }
  })
  // Memory first, on a server that has not yet grown its heap and buffers
  // under load: measured after the load, RSS can shrink while the sockets
  // open (GC gives back what the heavy latency points took).
  const memory = await measureIdleMemory(async (userId) => await openEndpoint(target.kind, target.endpoint(userId, 'sender')), { count: idleSockets, concurrency: 100, rss: stats.rss })
  closeAll(memory.sockets)
  log(`  ${Math.round(memory.bytesPerSocket)} bytes of RSS per idle socket at ${idleSockets}`)
  await sleep(2_000)
  await target.prepare?.(pairs.flatMap((p) => [p.senderId, p.receiverId]))
  const gens = await LoadGenerators.start(opts.loadWorkers)
  try {
    await gens.open(target.kind, pairs)

    await gens.saturate(opts.window ?? 20, bodyBytes)
    // Warm up, then count over the measured interval only.
    await sleep(1_000)
    const others = async (): Promise<Record<string, number>> => await stats.otherCpuSeconds?.() ?? {}
    const [load0, cpu0, others0] = [await gens.snapshot(), await stats.cpuSeconds(), await others()]
    await sleep(seconds * 1000)
    const [load1, cpu1, others1] = [await gens.snapshot(), await stats.cpuSeconds(), await others()]
    await gens.halt()
    const count = load1.delivered - load0.delivered
    const elapsed = (load1.at - load0.at) / 1000
    const deliveredPerSecond = count / elapsed
    const cpuMicrosPerMessage = (cpu1 - cpu0) * 1e6 / count
    const otherCpuMicrosPerMessage = Object.fromEntries(Object.entries(others1).map(([name, s]) => [name, (s - (others0[name] ?? s)) * 1e6 / count]))
    const loadCpu = load1.cpuSeconds.map((s, i) => s - (load0.cpuSeconds[i] ?? s))
    const loadGenerators = {
      processes: gens.size,
      cpuMicrosPerMessage: loadCpu.reduce((a, b) => a + b, 0) * 1e6 / count,
      busiestCorePercent: Math.max(...loadCpu) / elapsed * 100
    }
    log(`  delivered ${Math.round(deliveredPerSecond)} messages/s at saturation, ${Math.round(cpuMicrosPerMessage)} µs of server CPU each; ${gens.size} load generators, the busiest at ${Math.round(loadGenerators.busiestCorePercent)} % of a core`)

    const latencyCurve: LatencyPoint[] = []
    for (const fraction of fractions) {
      const rate = Math.max(1, Math.floor(deliveredPerSecond * fraction))
      const l = await gens.latency(rate, seconds, bodyBytes)
      latencyCurve.push({ rate, fraction, ...l })
      log(`  latency at ${rate}/s (${Math.round(fraction * 100)} % of peak): p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms (${l.samples} of ${l.sent} delivered)`)
      // Let a backlog left by a heavy point drain before the next.
      await sleep(1_000)
    }
    const half = latencyCurve.find((p) => p.fraction === 0.5) as LatencyPoint

    return {
      deliveredPerSecond,
      cpuMicrosPerMessage,
      otherCpuMicrosPerMessage,
      loadGenerators,
      latencyP50Ms: half.p50Ms,
      latencyP99Ms: half.p99Ms,
      latencyRate: half.rate,
      latencyCurve,
      bytesPerIdleSocket: memory.bytesPerSocket,
      idleSockets,
      servers: opts.servers ?? 2
    }
  } finally {
    await gens.close()
  }
}
