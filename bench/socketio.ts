import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { connect as tcpConnect } from 'node:net'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Server } from 'socket.io'
import { createAdapter } from '@socket.io/redis-adapter'
import { createClient } from 'redis'
import { io as ioClient } from 'socket.io-client'
import { until } from '@metadome/testing'
import { spawnListening, type ServerProcess } from './relay.js'
import { runChatWorkload, type ChatBenchOptions, type ChatBenchResult } from './chat-workload.js'
import { processCpuSeconds } from './process-cpu.js'
import type { ChatTarget } from './ws-load.js'

// The peer metadome is measured against: Socket.IO with its Redis adapter,
// the usual way to run Socket.IO on more than one server, on the direct-message
// workload: each user joins a room named by its id, a client emits
// ('send', to, body) and the server emits ('message', body) to that room. With
// two servers (senders on one, recipients on the other) every message goes
// through Redis pub/sub, as metadome's go through NATS. It stores nothing and
// acks nothing: a lower bar than chat-gateway's, which is the point of the
// comparison. Each server is a child process of its own (this file, run
// directly), so its CPU and memory are measured apart from the load generators.

const REDIS_PORT = 6379

async function portOpen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

/** The Redis URL to use: BENCH_REDIS_URL, or 127.0.0.1:6379, started as the docs say when nothing listens there. */
export async function ensureRedis (log: (line: string) => void = () => {}): Promise<string> {
  if (process.env.BENCH_REDIS_URL !== undefined) return process.env.BENCH_REDIS_URL
  if (!await portOpen(REDIS_PORT)) {
    log(`  starting redis-server on 127.0.0.1:${REDIS_PORT}`)
    const child = spawn('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(REDIS_PORT), '--save', '', '--appendonly', 'no'], { stdio: 'inherit' })
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) => { reject(new Error(`redis-server could not start (${err.message}); install it (Debian: apt-get install redis-server) or set BENCH_REDIS_URL`)) })
      child.once('exit', (code) => {
        if (code === 0) resolve()
        else reject(new Error(`redis-server exited with ${code}`))
      })
    })
    await until(async () => await portOpen(REDIS_PORT), 10_000, 'redis-server to listen')
  }
  return `redis://127.0.0.1:${REDIS_PORT}`
}

async function runSocketIoServer (): Promise<void> {
  const pub = createClient({ url: process.env.REDIS_URL })
  const sub = pub.duplicate()
  await Promise.all([pub.connect(), sub.connect()])
  const http = createServer((_req, res) => {
    const cpu = process.cpuUsage()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ rss: process.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
  })
  // WebSocket only, as the load generator connects (no long-polling upgrade dance).
  const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false })
  // The key prefix keeps runs, and other users of this Redis, apart.
  io.adapter(createAdapter(pub, sub, { key: process.env.SIO_KEY ?? 'socket.io' }))
  io.on('connection', (socket) => {
    const user = (socket.handshake.auth as { user?: unknown }).user
    if (typeof user !== 'string') {
      socket.disconnect(true)
      return
    }
    void socket.join(user)
    socket.on('send', (to: unknown, body: unknown) => {
      if (typeof to === 'string') io.to(to).emit('message', body)
    })
  })
  http.listen(0, '127.0.0.1', () => {
    const address = http.address()
    process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
  })
  process.once('SIGTERM', () => {
    void io.close().then(async () => {
      await Promise.allSettled([pub.quit(), sub.quit()])
      process.exit(0)
    })
  })
}

/** One message from a real socket.io-client on the first server to one on the last: the raw-protocol load generator talks to a working setup. */
async function checkWithSocketIoClient (first: number, last: number): Promise<void> {
  const [from, to] = [randomUUID(), randomUUID()]
  const opts = { transports: ['websocket'], reconnection: false }
  const sender = ioClient(`http://127.0.0.1:${first}`, { ...opts, auth: { user: from } })
  const receiver = ioClient(`http://127.0.0.1:${last}`, { ...opts, auth: { user: to } })
  try {
    await Promise.all([sender, receiver].map(async (s) => { await new Promise((resolve) => s.once('connect', () => { resolve(undefined) })) }))
    // The receiver's room is joined on connect; Redis carries the emit once the other server subscribes (at once, on connect).
    const got = new Promise((resolve) => receiver.once('message', resolve))
    let tries = 0
    const timer = setInterval(() => { if (tries++ < 50) sender.emit('send', to, { check: true }) }, 100)
    await got.finally(() => { clearInterval(timer) })
  } finally {
    sender.close()
    receiver.close()
  }
}

/** Socket.IO with @socket.io/redis-adapter on the direct-message workload: `servers` processes, senders on the first, recipients on the last. */
export async function benchSocketIo (opts: ChatBenchOptions = {}): Promise<ChatBenchResult> {
  const log = opts.log ?? (() => {})
  const redisUrl = await ensureRedis(log)
  const env = { ...process.env, SOCKETIO_SERVER: '1', REDIS_URL: redisUrl, SIO_KEY: `sio${randomUUID().slice(0, 8)}` }
  const servers: ServerProcess[] = []
  try {
    for (let i = 0; i < (opts.servers ?? 2); i++) servers.push(await spawnListening(fileURLToPath(import.meta.url), env))
    const port = (side: 'sender' | 'receiver'): number => (side === 'sender' ? servers[0] : servers.at(-1))?.port ?? 0
    log(`  Socket.IO servers on ${servers.map((s) => s.port).join(' and ')}, Redis at ${redisUrl}`)
    await checkWithSocketIoClient(port('sender'), port('receiver'))
    const target: ChatTarget = {
      kind: 'socketio',
      endpoint: (userId, side) => ({ url: `ws://127.0.0.1:${port(side)}/socket.io/?EIO=4&transport=websocket`, hello: `40${JSON.stringify({ user: userId })}` })
    }
    const stat = async (p: number): Promise<{ rss: number, cpuSeconds: number }> => (await (await fetch(`http://127.0.0.1:${p}/stats`)).json()) as { rss: number, cpuSeconds: number }
    return await runChatWorkload(target, {
      rss: async () => (await stat(port('sender'))).rss,
      cpuSeconds: async () => (await Promise.all(servers.map(async (s) => (await stat(s.port)).cpuSeconds))).reduce((a, b) => a + b, 0),
      otherCpuSeconds: async (): Promise<Record<string, number>> => {
        const redis = await processCpuSeconds('redis-server')
        return redis === undefined ? {} : { 'redis-server': redis }
      }
    }, opts)
  } finally {
    for (const s of servers) await s.stop()
  }
}

if (process.env.SOCKETIO_SERVER === '1' && process.argv[1] === fileURLToPath(import.meta.url)) {
  await runSocketIoServer()
}
