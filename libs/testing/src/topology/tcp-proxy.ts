// The load balancer when HAProxy is not installed, run as its own process by
// load-balancer.ts (so that it can be killed and paused like the others):
//
//   node tcp-proxy.js '{"host","port","backends":[{"host","port"}],"checkPath","intervalMs"}'
//
// A round-robin TCP proxy: WebSocket upgrades pass as they are, being bytes.
// Every `intervalMs` it asks each backend for `checkPath` and skips those that
// do not answer 200 (a draining gateway turns /readyz to 503). A connection
// to a backend that fails before any byte went through is retried on the next
// one. With no healthy backend a client gets a plain 503.
import { createServer, connect, type Socket } from 'node:net'

interface Backend { host: string, port: number, healthy: boolean }
interface ProxyOptions { host: string, port: number, backends: Array<{ host: string, port: number }>, checkPath: string, intervalMs: number }

const options = JSON.parse(process.argv[2] ?? '{}') as ProxyOptions
const backends: Backend[] = options.backends.map((b) => ({ ...b, healthy: false }))
let next = 0

async function check (backend: Backend): Promise<void> {
  try {
    const res = await fetch(`http://${backend.host}:${backend.port}${options.checkPath}`, { signal: AbortSignal.timeout(options.intervalMs) })
    await res.body?.cancel()
    backend.healthy = res.status === 200
  } catch {
    backend.healthy = false
  }
}

function pick (exclude: Set<Backend>): Backend | undefined {
  for (let i = 0; i < backends.length; i++) {
    const backend = backends[(next + i) % backends.length]
    if (backend !== undefined && backend.healthy && !exclude.has(backend)) {
      next = (next + i + 1) % backends.length
      return backend
    }
  }
  return undefined
}

function forward (client: Socket, tried: Set<Backend>): void {
  const backend = pick(tried)
  if (backend === undefined) {
    client.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    return
  }
  tried.add(backend)
  const upstream = connect(backend.port, backend.host)
  upstream.once('error', () => {
    if (upstream.bytesRead === 0 && upstream.bytesWritten === 0 && !client.destroyed) {
      backend.healthy = false
      forward(client, tried)
    } else {
      client.destroy()
    }
  })
  upstream.once('connect', () => {
    client.pipe(upstream)
    upstream.pipe(client)
    upstream.once('close', () => client.destroy())
    client.once('close', () => upstream.destroy())
  })
}

const server = createServer({ pauseOnConnect: true }, (client) => {
  client.on('error', () => client.destroy())
  forward(client, new Set())
})

await Promise.all(backends.map(check))
const timer = setInterval(() => { for (const b of backends) void check(b) }, options.intervalMs)
server.listen(options.port, options.host)

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    clearInterval(timer)
    server.close()
    process.exit(0)
  })
}
