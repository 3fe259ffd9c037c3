import WebSocket from 'ws'

// One client process of the idle-socket benchmark (bench/idle-sockets.ts):
// holds its share of the sockets, each a user of its own, from a source
// address of its own (127.0.0.x), so that neither this process's file limit
// nor one address's ephemeral ports cap the count. Driven over IPC.

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

let url = ''
let localAddress = '127.0.0.1'
let reconnect = false
let received = 0
let failed = 0
let lastReadyAt = 0
const ready = new Set<number>()
const sockets = new Map<number, WebSocket>()
let tokens: string[] = []

function open (index: number): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${tokens[index] ?? ''}` }, perMessageDeflate: false, localAddress })
    sockets.set(index, ws)
    let settled = false
    const settle = (): void => { if (!settled) { settled = true; resolve() } }
    ws.on('message', (data: WebSocket.RawData) => {
      const text = data.toString()
      if (text.startsWith('{"type":"message"')) received++
      else if (!ready.has(index) && text.includes('"type":"ready"')) {
        ready.add(index)
        lastReadyAt = Date.now()
        settle()
      }
    })
    ws.on('error', () => {})
    ws.on('close', () => {
      const wasReady = ready.delete(index)
      if (!wasReady && !settled) failed++
      settle()
      // A refused connect (the gateway is still starting) waits a little, with
      // jitter, as real clients back off; a dropped ready socket comes back at once.
      if (reconnect && sockets.get(index) === ws) setTimeout(() => { void open(index) }, wasReady ? 0 : 100 + Math.random() * 400)
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
      url = command.url
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
      for (const ws of sockets.values()) ws.terminate()
      process.exit(0)
  }
})
