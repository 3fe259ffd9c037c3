import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { WebSocketServer } from 'ws'
import { connect } from '@nats-io/transport-node'
import { testNatsUrl } from '@metadome/testing'
import { processCpuSeconds } from './process-cpu.js'
import { compiledEntry } from './compiled.js'
import { runChatWorkload, type ChatBenchOptions, type ChatBenchResult } from './chat-workload.js'
import type { ChatTarget } from './ws-load.js'

// The ceiling chat-gateway is compared with: a bare relay, a WebSocket server
// that publishes what a client sends to core NATS on the recipient's subject
// and writes what arrives on its users' subjects to their sockets. No auth,
// no validation, no persistence, no ack. It runs as a child process of its
// own (this file, run directly) so its CPU and memory are measured apart from
// the load generators, as the gateway's are.

export interface ServerProcess {
  port: number
  stop: () => Promise<void>
}

/** Runs a TypeScript entry point, compiled (compiled.ts), as a child process and waits for the line `listening <port>`. */
export async function spawnListening (entry: string, env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, await compiledEntry(entry), { env, stdio: ['ignore', 'pipe', 'inherit'] })
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
    // The chat workload names its user in the URL. The idle-socket storm sends
    // the gateway's form (a bearer "token", here the user id itself, never
    // checked) and waits for a `ready` frame, as it does from the gateway.
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')
    const userId = bearer?.[1] ?? new URL(req.url ?? '/', 'http://relay').searchParams.get('user') ?? ''
    const sub = nc.subscribe(`${prefix}.u.${userId}`, { callback: (_err, msg) => { ws.send(msg.data) } })
    if (bearer !== null) ws.send('{"type":"ready"}')
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { to: string }
      nc.publish(`${prefix}.u.${frame.to}`, data as Buffer)
    })
    ws.on('close', () => { sub.unsubscribe() })
    ws.on('error', () => {})
  })
  // The gateways' accept queue (libs/service start-server), so that a storm meets the same kernel.
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    const address = server.address()
    process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
  })
  process.once('SIGTERM', () => {
    wss.close()
    server.close()
    void nc.close().then(() => process.exit(0))
  })
}

/** CPU seconds of nats-server, when it runs on this machine (by name: it is not ours to start). */
export async function natsCpuSeconds (): Promise<Record<string, number>> {
  const nats = await processCpuSeconds('nats-server')
  return nats === undefined ? {} : { 'nats-server': nats }
}

/** One bare relay (see runRelayServer) on a NATS prefix of its own, with its CPU seconds and RSS from `/stats`. */
export async function startRelay (natsUrl = testNatsUrl()): Promise<ServerProcess & { stats: () => Promise<{ rss: number, cpuSeconds: number }> }> {
  const relay = await spawnListening(fileURLToPath(import.meta.url), { ...process.env, RELAY_SERVER: '1', NATS_URL: natsUrl, RELAY_PREFIX: `relay${randomBytes(4).toString('hex')}` })
  return { ...relay, stats: async () => (await (await fetch(`http://127.0.0.1:${relay.port}/stats`)).json()) as { rss: number, cpuSeconds: number } }
}

/** The bare relay ceiling: `servers` relays on one NATS prefix, senders on the first, recipients on the last. */
export async function benchRelay (opts: ChatBenchOptions = {}): Promise<ChatBenchResult> {
  const env = { ...process.env, RELAY_SERVER: '1', NATS_URL: opts.natsUrl ?? testNatsUrl(), RELAY_PREFIX: `relay${randomBytes(4).toString('hex')}` }
  const relays: ServerProcess[] = []
  try {
    for (let i = 0; i < (opts.servers ?? 2); i++) relays.push(await spawnListening(fileURLToPath(import.meta.url), env))
    const base = (side: 'sender' | 'receiver'): string => `127.0.0.1:${(side === 'sender' ? relays[0] : relays.at(-1))?.port}`
    const target: ChatTarget = { kind: 'relay', endpoint: (userId, side) => ({ url: `ws://${base(side)}/?user=${userId}` }) }
    const stat = async (port: number): Promise<{ rss: number, cpuSeconds: number }> => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { rss: number, cpuSeconds: number }
    return await runChatWorkload(target, {
      rss: async () => (await stat(relays[0]?.port ?? 0)).rss,
      cpuSeconds: async () => (await Promise.all(relays.map(async (r) => (await stat(r.port)).cpuSeconds))).reduce((a, b) => a + b, 0),
      otherCpuSeconds: natsCpuSeconds
    }, opts)
  } finally {
    for (const r of relays) await r.stop()
  }
}

if (process.env.RELAY_SERVER === '1' && process.argv[1] === fileURLToPath(import.meta.url)) {
  await runRelayServer()
}
