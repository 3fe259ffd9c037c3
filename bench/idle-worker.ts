import { connect, type Socket } from 'node:net'

// One client process of the idle-socket benchmark (bench/idle-sockets.ts):
// holds its share of the sockets, each a user of its own, from a source
// address of its own (127.0.0.x), so that neither this process's file limit
// nor one address's ephemeral ports cap the count. Driven over IPC.
//
// The client is a minimal one on a bare TCP socket: it writes the upgrade
// request, reads the 101 and the server's frames, and answers pings. In a
// real storm the clients are 19,000 devices; here they share two cores with
// the servers, and the `ws` client's handshake (the HTTP client, its checks)
// cost more CPU per connect than the relay it was measured against (434 µs
// against 224), so it capped the very figure it measured.

export type IdleCommand =
  | { type: 'open', url: string, tokens: string[], localAddress: string, concurrency: number }
  /** From now on, a socket the server closes connects again at once (a reconnect storm when a gateway restarts). */
  | { type: 'reconnect' }
  | { type: 'status' }
  | { type: 'close' }

export interface IdleStatus {
  type: 'status'
  ready: number
  /** Message frames received by any socket. */
  received: number
  failed: number
  /** Time of the last socket becoming ready, ms since the epoch. */
  lastReadyAt: number
  /** This process's CPU time so far (user + system), seconds. */
  cpuSeconds: number
}

let target = { host: '127.0.0.1', port: 0, path: '/' }
let localAddress = '127.0.0.1'
let reconnect = false
let received = 0
let failed = 0
let lastReadyAt = 0
const ready = new Set<number>()
const sockets = new Map<number, Socket>()
let tokens: string[] = []

// The key is RFC 6455's sample nonce: the server computes its accept hash
// all the same, and a benchmark has no proxy cache to defeat.
const upgradeRequest = (token: string): string =>
  `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`

/** A masked pong (a zero mask: client frames must be masked, with any key) echoing a ping's payload of at most 125 bytes. */
function pong (payload: Buffer): Buffer {
  const frame = Buffer.alloc(6 + payload.length)
  frame[0] = 0x8a
  frame[1] = 0x80 | payload.length
  payload.copy(frame, 6)
  return frame
}

/** Reads server frames (unmasked) off `pending`; returns what is left of an incomplete one. */
function readFrames (socket: Socket, index: number, pending: Buffer, onReady: () => void): Buffer {
  let at = 0
  while (pending.length - at >= 2) {
    const opcode = (pending[at] as number) & 0x0f
    let length = (pending[at + 1] as number) & 0x7f
    let header = 2
    if (length === 126) {
      if (pending.length - at < 4) break
      length = pending.readUInt16BE(at + 2)
      header = 4
    } else if (length === 127) {
      if (pending.length - at < 10) break
      length = Number(pending.readBigUInt64BE(at + 2))
      header = 10
    }
    if (pending.length - at < header + length) break
    const payload = pending.subarray(at + header, at + header + length)
    at += header + length
    if (opcode === 0x1) {
      if (payload.toString('latin1', 0, 17) === '{"type":"message"') received++
      else if (!ready.has(index) && payload.includes('"type":"ready"')) {
        ready.add(index)
        lastReadyAt = Date.now()
        onReady()
      }
    } else if (opcode === 0x9) socket.write(pong(payload))
    else if (opcode === 0x8) socket.destroy()
  }
  return pending.subarray(at)
}

function open (index: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, localAddress, noDelay: true })
    sockets.set(index, socket)
    let settled = false
    const settle = (): void => { if (!settled) { settled = true; resolve() } }
    let upgraded = false
    let pending: Buffer = Buffer.alloc(0)
    socket.once('connect', () => { socket.write(upgradeRequest(tokens[index] ?? '')) })
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (!upgraded) {
        const end = pending.indexOf('\r\n\r\n')
        if (end < 0) return
        // Refused (a 503 while the gateway starts, a 401): a failed connect.
        if (pending.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
          socket.destroy()
          return
        }
        upgraded = true
        pending = pending.subarray(end + 4)
      }
      pending = readFrames(socket, index, pending, settle)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      const wasReady = ready.delete(index)
      if (!wasReady && !settled) failed++
      settle()
      // A refused connect (the gateway is still starting) waits a little, with
      // jitter, as real clients back off; a dropped ready socket comes back at once.
      if (reconnect && sockets.get(index) === socket) setTimeout(() => { void open(index) }, wasReady ? 0 : 100 + Math.random() * 400)
    })
  })
}

async function openAll (concurrency: number): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < tokens.length) await open(next++)
  }))
}

const send = (message: unknown): void => { process.send?.(message) }

process.on('message', (command: IdleCommand) => {
  switch (command.type) {
    case 'open':
      {
        const url = new URL(command.url)
        target = { host: url.hostname, port: Number(url.port), path: `${url.pathname}${url.search}` }
      }
      tokens = command.tokens
      localAddress = command.localAddress
      void openAll(command.concurrency)
      break
    case 'reconnect':
      reconnect = true
      break
    case 'status': {
      const cpu = process.cpuUsage()
      send({ type: 'status', ready: ready.size, received, failed, lastReadyAt, cpuSeconds: (cpu.user + cpu.system) / 1e6 } satisfies IdleStatus)
      break
    }
    case 'close':
      reconnect = false
      for (const socket of sockets.values()) socket.destroy()
      process.exit(0)
  }
})
