import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { bundleUi, type Bundle } from './bundle.js'
import { gatewayUpstreams, type WebConfig } from './config.js'
import { forwardRequest, forwardUpgrade } from './proxy.js'

// The browser client's server: the page, its bundle, and the two APIs
// forwarded under one origin (proxy.ts says why). No framework: it routes
// five paths and forwards the public API.
//
//   GET /                    the page (index.html, built here)
//   GET /verify-email, /reset-password  the same page: auth-api's mailed links
//                            point there, and the page routes by location
//   GET /app.<hash>.js|.css  the bundle (bundle.ts), cached for good
//   GET /healthz, /readyz    for `npm start` and operators
//   /api/auth/v1/…, /api/auth/.well-known/jwks.json  → WEB_AUTH_URL/…
//   /api/gateway/v1/…        → WEB_GATEWAY_URL/… (and the WebSocket at /api/gateway/v1/ws)
//                            nothing else of either: 404

/**
 * What the page may reach through /api: the apps' public API (/v1, and
 * auth-api's JWKS), never their operator endpoints (/metrics, /docs,
 * /openapi.json, /healthz …), which the ingress keeps inside the cluster and
 * which this server must not open a way around. Dot segments are refused
 * later, by forwardRequest.
 */
function isPublicApi (rest: string, isAuth: boolean): boolean {
  const pathname = rest.split('?', 1)[0] ?? ''
  return pathname.startsWith('/v1/') || (isAuth && pathname === '/.well-known/jwks.json')
}

/**
 * The page's policy: its own scripts and styles only, no inline script, no
 * plugin, no frame, and connections to this origin only (the APIs are
 * forwarded here), so that even an injected script could not send keys or
 * tokens anywhere else. 'wasm-unsafe-eval' lets libsodium compile its
 * WebAssembly (it is not `eval` of text).
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

const SECURITY_HEADERS = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()'
}

// The page's own paths: mailed links (auth-api's PUBLIC_URL/verify-email and
// /reset-password) must load the page, which reads the token from the URL.
const PAGE_PATHS = new Set(['/', '/index.html', '/verify-email', '/reset-password'])

export interface WebServer {
  server: Server
  /** Listens at config.HOST:PORT and resolves with http://host:port. */
  listen: () => Promise<string>
  close: () => Promise<void>
}

function page (bundle: Bundle): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>metadome</title>
<link rel="stylesheet" href="/app.${bundle.cssHash}.css">
<script type="module" src="/app.${bundle.jsHash}.js"></script>
</head>
<body>
<div id="app"><p class="boot">Loading metadome…</p></div>
<noscript><p class="boot">metadome needs JavaScript: messages are encrypted and decrypted in this page.</p></noscript>
</body>
</html>
`
}

export async function buildWebServer (config: WebConfig): Promise<WebServer> {
  const bundle = await bundleUi()
  const html = page(bundle)
  const gateways = gatewayUpstreams(config)
  const auth = [config.WEB_AUTH_URL.replace(/\/+$/, '')]
  let nextGateway = 0
  const assets = new Map<string, { type: string, body: string }>([
    [`/app.${bundle.jsHash}.js`, { type: 'text/javascript; charset=utf-8', body: bundle.js }],
    [`/app.${bundle.cssHash}.css`, { type: 'text/css; charset=utf-8', body: bundle.css }]
  ])

  const send = (res: ServerResponse, status: number, type: string, body: string, cache: string): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cache, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/'
    const isAuth = path.startsWith('/api/auth/')
    if (isAuth || path.startsWith('/api/gateway/')) {
      const rest = path.slice(isAuth ? '/api/auth'.length : '/api/gateway'.length)
      if (!isPublicApi(rest, isAuth)) send(res, 404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: 'only the public API (/v1) is forwarded' } }), 'no-store')
      else if (isAuth) void forwardRequest(req, res, auth, rest)
      else void forwardRequest(req, res, gateways, rest, nextGateway++)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'application/json', JSON.stringify({ error: { code: 'bad_request', message: 'only GET here' } }), 'no-store')
      return
    }
    const pathname = path.split('?', 1)[0] ?? '/'
    const asset = assets.get(pathname)
    if (asset !== undefined) send(res, 200, asset.type, asset.body, 'public, max-age=31536000, immutable')
    else if (PAGE_PATHS.has(pathname)) send(res, 200, 'text/html; charset=utf-8', html, 'no-store')
    else if (pathname === '/healthz' || pathname === '/readyz') send(res, 200, 'application/json', '{"status":"ok"}', 'no-store')
    else send(res, 404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: `no ${pathname} here` } }), 'no-store')
  }

  const server = createServer(handle)
  // As the other apps: a client trickling its headers is cut off (slowloris).
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  const upgraded = new Set<Duplex>()
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = req.url ?? '/'
    if (!path.startsWith('/api/gateway/') || !isPublicApi(path.slice('/api/gateway'.length), false)) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    upgraded.add(socket)
    socket.on('close', () => upgraded.delete(socket))
    forwardUpgrade(req, socket, head, gateways, path.slice('/api/gateway'.length), nextGateway++)
  })

  return {
    server,
    async listen () {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.PORT, config.HOST, () => { server.off('error', reject); resolve() })
      })
      const address = server.address()
      if (typeof address !== 'object' || address === null) throw new Error('not listening')
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return `http://${host}:${address.port}`
    },
    async close () {
      // Sockets end at once: the SDK in each page reconnects to wherever it is served next.
      for (const socket of upgraded) socket.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
