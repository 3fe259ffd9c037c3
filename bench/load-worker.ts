import { randomBytes, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type WebSocket from 'ws'
import { openEndpoint, wires, type PairSpec, type WireKind } from './wire.js'

// One load-generator process (forked by bench/load.ts, driven over IPC). The
// parent spreads the pairs over several of these, so that no single client
// process's event loop caps the delivered rate; each worker keeps its pairs'
// senders and receivers, so a latency sample is taken on one clock.

export type WorkerRequest =
  | { op: 'open', kind: WireKind, pairs: PairSpec[] }
  | { op: 'saturate', window: number, bodyBytes: number }
  | { op: 'count' }
  | { op: 'halt' }
  | { op: 'latency', rate: number, seconds: number, bodyBytes: number }
  | { op: 'close' }

export interface CountReply { delivered: number, cpuSeconds: number }
export interface LatencyReply { samples: number[], sent: number }

interface Pair { spec: PairSpec, sender: WebSocket, receiver: WebSocket }

let kind: WireKind = 'relay'
let pairs: Pair[] = []
let delivered = 0
let running = false
let cleanups: Array<() => void> = []

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const paddingOf = (bytes: number): string => randomBytes(Math.max(1, Math.floor(bytes * 3 / 4))).toString('base64')
/** An E2EE-envelope-like body, stamped with the send time on this process's clock. */
const body = (padding: string, n: number): Record<string, unknown> => ({ v: 1, n, t: performance.now(), ciphertext: padding })

function onDelivered (pair: Pair, handle: (b: Record<string, unknown>) => void): void {
  const wire = wires[kind]
  const listener = (data: WebSocket.RawData): void => {
    const b = wire.delivered(data.toString())
    if (b !== undefined) handle(b)
  }
  pair.receiver.on('message', listener)
  cleanups.push(() => { pair.receiver.off('message', listener) })
}

function dropListeners (): void {
  for (const cleanup of cleanups) cleanup()
  cleanups = []
}

/**
 * Saturation: each sender keeps `window` messages between sending and its
 * partner receiving them (a closed loop, so neither server nor client queues
 * grow without bound) until halted.
 */
function saturate (window: number, bodyBytes: number): void {
  const padding = paddingOf(bodyBytes)
  const wire = wires[kind]
  running = true
  for (const pair of pairs) {
    let n = 0
    const sendOne = (): void => { pair.sender.send(wire.sendFrame(pair.spec.receiverId, randomUUID(), body(padding, n++))) }
    onDelivered(pair, () => {
      delivered++
      if (running) sendOne()
    })
    for (let i = 0; i < window; i++) sendOne()
  }
}

/** End-to-end latency (send to delivery) at a fixed rate, spread round-robin over this worker's pairs. */
async function latency (rate: number, seconds: number, bodyBytes: number): Promise<LatencyReply> {
  const padding = paddingOf(bodyBytes)
  const wire = wires[kind]
  const samples: number[] = []
  if (pairs.length === 0) return { samples, sent: 0 }
  for (const pair of pairs) {
    onDelivered(pair, (b) => { if (typeof b.t === 'number') samples.push(performance.now() - b.t) })
  }
  // One tick every millisecond, sending the messages due by then: a steady
  // open loop that does not wait for deliveries. (Coarser ticks send bursts,
  // and measure how long a burst queues rather than how long a message takes.)
  const total = Math.floor(rate * seconds)
  let sent = 0
  let next = 0
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / 1000 * rate))
      for (; sent < due; sent++) {
        const pair = pairs[next++ % pairs.length] as Pair
        pair.sender.send(wire.sendFrame(pair.spec.receiverId, randomUUID(), body(padding, sent)))
      }
      if (sent >= total) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  // Late deliveries still count (a slow one is what p99 is for), up to a bound.
  const deadline = performance.now() + 5_000
  while (samples.length < sent && performance.now() < deadline) await sleep(50)
  dropListeners()
  return { samples, sent }
}

async function handle (req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'open':
      kind = req.kind
      for (const spec of req.pairs) {
        pairs.push({ spec, sender: await openEndpoint(kind, spec.sender), receiver: await openEndpoint(kind, spec.receiver) })
      }
      return pairs.length
    case 'saturate':
      saturate(req.window, req.bodyBytes)
      return null
    case 'count': {
      const cpu = process.cpuUsage()
      return { delivered, cpuSeconds: (cpu.user + cpu.system) / 1e6 } satisfies CountReply
    }
    case 'halt':
      running = false
      // Let what is in flight land before the next phase.
      await sleep(1_000)
      dropListeners()
      return null
    case 'latency':
      return await latency(req.rate, req.seconds, req.bodyBytes)
    case 'close':
      for (const p of pairs) {
        p.sender.terminate()
        p.receiver.terminate()
      }
      pairs = []
      return null
  }
}

process.on('message', (msg: { id: number, req: WorkerRequest }) => {
  handle(msg.req).then(
    (result) => { process.send?.({ id: msg.id, result }) },
    (err: unknown) => { process.send?.({ id: msg.id, error: err instanceof Error ? err.message : String(err) }) }
  )
})
// The parent going away (a crash, ^C) must not leave workers behind.
process.on('disconnect', () => { process.exit(0) })
