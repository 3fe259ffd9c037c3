import { randomUUID } from 'node:crypto'
import WebSocket from 'ws'
import type { Endpoint, WireKind } from './wire.js'

// What the direct-message workload (bench/chat-workload.ts) needs from each
// server it measures (the bare relay, chat-gateway, Socket.IO with Redis),
// and the helpers every benchmark here shares.

/** How a workload reaches one server (or a pair of them). */
export interface ChatTarget {
  kind: WireKind
  /** Where a user's socket connects: senders on the first server, receivers on the last, as a conversation across servers. */
  endpoint: (userId: string, side: 'sender' | 'receiver') => Endpoint
  /** Makes these users known to the server before they get messages (the gateway checks recipients exist). */
  prepare?: (userIds: string[]) => Promise<void>
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

export function closeAll (sockets: Iterable<WebSocket>): void {
  for (const ws of sockets) ws.terminate()
}

/**
 * Bytes of server memory (RSS, as `rss` reports it) per idle authenticated
 * socket: `count` sockets opened `concurrency` at a time, then left alone.
 */
export async function measureIdleMemory (open: (userId: string) => Promise<WebSocket>, opts: { count: number, concurrency: number, rss: () => Promise<number> }): Promise<{ bytesPerSocket: number, sockets: WebSocket[] }> {
  const before = await opts.rss()
  const sockets: WebSocket[] = []
  let opened = 0
  const worker = async (): Promise<void> => {
    while (opened < opts.count) {
      opened++
      sockets.push(await open(randomUUID()))
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
