import { randomBytes, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'

// The WebSocket chat workload shared by bench/relay.ts (the bare relay
// ceiling) and bench/gateway.ts (chat-gateway): the same pairs of users, the
// same bodies, the same measurements, so the ratios compare like with like.

/** How a workload talks to one server. */
export interface ChatTarget {
  /** An open, authenticated socket for `userId` (ready to send). */
  open: (userId: string) => Promise<WebSocket>
  /** Makes these users known to the server before they get messages (the gateway checks recipients exist). */
  prepare?: (userIds: string[]) => Promise<void>
  /** The text frame that sends `body` from one user to another. */
  sendFrame: (to: string, id: string, body: Record<string, unknown>) => string
  /** The body of a delivered message frame, or undefined for any other frame (which it need not parse). */
  delivered: (data: WebSocket.RawData) => Record<string, unknown> | undefined
}

export interface Pair {
  sender: WebSocket
  receiver: WebSocket
  senderId: string
  receiverId: string
}

export interface Latency {
  p50Ms: number
  p99Ms: number
  samples: number
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

/** An E2EE-envelope-like body of about `bytes` bytes, stamped with the send time. */
function body (padding: string, n: number): Record<string, unknown> {
  return { v: 1, n, t: performance.now(), ciphertext: padding }
}

export async function openPairs (target: ChatTarget, count: number): Promise<Pair[]> {
  const pairs: Pair[] = []
  for (let i = 0; i < count; i++) {
    const senderId = randomUUID()
    const receiverId = randomUUID()
    pairs.push({ senderId, receiverId, sender: await target.open(senderId), receiver: await target.open(receiverId) })
  }
  return pairs
}

export function closeAll (sockets: Iterable<WebSocket>): void {
  for (const ws of sockets) ws.terminate()
}

/**
 * Delivered messages per second at saturation, and the server's CPU time per
 * delivered message (a figure that holds when other processes share the
 * machine, unlike the rate): each sender keeps `window`
 * messages between sending and its partner receiving them (a closed loop, so
 * neither server nor client queues grow without bound) for `seconds`.
 */
export async function measureThroughput (
  target: ChatTarget,
  pairs: Pair[],
  opts: { seconds: number, window: number, bodyBytes: number, cpuSeconds: () => Promise<number>, otherCpuSeconds?: () => Promise<Record<string, number>> }
): Promise<{ perSecond: number, cpuMicrosPerMessage: number, otherCpuMicrosPerMessage: Record<string, number> }> {
  const padding = randomBytes(Math.max(1, Math.floor(opts.bodyBytes * 3 / 4))).toString('base64')
  let delivered = 0
  let running = true
  const cleanups: Array<() => void> = []
  for (const pair of pairs) {
    let n = 0
    const sendOne = (): void => { pair.sender.send(target.sendFrame(pair.receiverId, randomUUID(), body(padding, n++))) }
    const onMessage = (data: WebSocket.RawData): void => {
      if (target.delivered(data) === undefined) return
      delivered++
      if (running) sendOne()
    }
    pair.receiver.on('message', onMessage)
    cleanups.push(() => { pair.receiver.off('message', onMessage) })
    for (let i = 0; i < opts.window; i++) sendOne()
  }
  // Warm up, then count over the measured interval only.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const start = delivered
  const cpu0 = await opts.cpuSeconds()
  const others0 = await opts.otherCpuSeconds?.() ?? {}
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, opts.seconds * 1000))
  const count = delivered - start
  const rate = count / ((performance.now() - t0) / 1000)
  const cpuMicrosPerMessage = (await opts.cpuSeconds() - cpu0) * 1e6 / count
  const others1 = await opts.otherCpuSeconds?.() ?? {}
  const otherCpuMicrosPerMessage = Object.fromEntries(Object.entries(others1).map(([name, seconds]) => [name, (seconds - (others0[name] ?? seconds)) * 1e6 / count]))
  running = false
  // Let what is in flight land before the next phase.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  for (const cleanup of cleanups) cleanup()
  return { perSecond: rate, cpuMicrosPerMessage, otherCpuMicrosPerMessage }
}

/** End-to-end latency (send to delivery) at a fixed total rate, spread over the pairs. */
export async function measureLatency (target: ChatTarget, pairs: Pair[], opts: { rate: number, seconds: number, bodyBytes: number }): Promise<Latency> {
  const padding = randomBytes(Math.max(1, Math.floor(opts.bodyBytes * 3 / 4))).toString('base64')
  const samples: number[] = []
  const cleanups: Array<() => void> = []
  for (const pair of pairs) {
    const onMessage = (data: WebSocket.RawData): void => {
      const b = target.delivered(data)
      if (b !== undefined && typeof b.t === 'number') samples.push(performance.now() - b.t)
    }
    pair.receiver.on('message', onMessage)
    cleanups.push(() => { pair.receiver.off('message', onMessage) })
  }
  // One tick every millisecond, sending the messages due by then round-robin
  // over the pairs: a steady open loop at `rate` that does not wait for
  // deliveries. (Coarser ticks send bursts, and measure how long a burst
  // queues rather than how long a message takes.)
  const total = Math.floor(opts.rate * opts.seconds)
  let sent = 0
  let next = 0
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / 1000 * opts.rate))
      for (; sent < due; sent++) {
        const pair = pairs[next++ % pairs.length] as Pair
        pair.sender.send(target.sendFrame(pair.receiverId, randomUUID(), body(padding, sent)))
      }
      if (sent >= total) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  for (const cleanup of cleanups) cleanup()
  samples.sort((a, b) => a - b)
  return { p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99), samples: samples.length }
}

/**
 * Bytes of server memory (RSS, as `rss` reports it) per idle authenticated
 * socket: `count` sockets opened `concurrency` at a time, then left alone.
 */
export async function measureIdleMemory (target: ChatTarget, opts: { count: number, concurrency: number, rss: () => Promise<number> }): Promise<{ bytesPerSocket: number, sockets: WebSocket[] }> {
  const before = await opts.rss()
  const sockets: WebSocket[] = []
  let opened = 0
  const worker = async (): Promise<void> => {
    while (opened < opts.count) {
      opened++
      sockets.push(await target.open(randomUUID()))
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker))
  // Let the server settle (subscriptions, buffers, a GC cycle or two).
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  const after = await opts.rss()
  return { bytesPerSocket: (after - before) / sockets.length, sockets }
}

/** A WebSocket that is open, after `ready` when `readyType` is given. */
export async function openSocket (url: string, headers: Record<string, string> = {}, readyType?: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject)
    if (readyType === undefined) {
      ws.once('open', () => resolve())
      return
    }
    const onMessage = (data: WebSocket.RawData): void => {
      if (data.toString().includes(`"type":"${readyType}"`)) {
        ws.off('message', onMessage)
        resolve()
      }
    }
    ws.on('message', onMessage)
    ws.once('close', (code) => reject(new Error(`closed with ${code} before ready`)))
  })
  ws.on('error', () => {})
  return ws
}
