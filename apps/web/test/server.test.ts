import t from 'tap'
import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'
import { loadConfig, ConfigError } from '@metadome/config'
import { freePort, type Teardown } from '@metadome/testing'
import { buildWebServer } from '../src/app.js'
import { WebConfig } from '../src/config.js'

// The web server without a browser: the page and its bundle with their
// headers, and the forwarding of /api/auth and /api/gateway (REST and the
// WebSocket) to upstream servers, which here are small HTTP and WebSocket
// servers that say what they received.

interface Seen { method: string, url: string, headers: IncomingHttpHeaders, body: string }

/** An upstream that answers 201 with what it got, and tries to set a cookie. */
async function upstream (t: Teardown, name: string): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': 'sid=1', 'x-upstream': name })
      res.end(JSON.stringify({ name }))
    })
  })
  const wss = new WebSocketServer({ server, path: '/v1/ws' })
  wss.on('connection', (ws) => { ws.on('message', (data) => { ws.send(`${name}:${String(data)}`) }) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const c of wss.clients) c.terminate()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('not listening')
  return { url: `http://127.0.0.1:${address.port}`, seen }
}

async function web (t: Teardown, env: Record<string, string>): Promise<string> {
  const server = await buildWebServer(loadConfig(WebConfig, { HOST: '127.0.0.1', PORT: '0', ...env }))
  const url = await server.listen()
  t.teardown(async () => { await server.close() })
  return url
}

async function echo (url: string, text: string): Promise<string> {
  const ws = new WebSocket(url)
  try {
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => { resolve(String(d)) }))
    ws.send(text)
    return await reply
  } finally {
    ws.close()
  }
}

t.test('the page, its bundle and their headers', async (t) => {
  const base = await web(t, {})
  const res = await fetch(base)
  t.equal(res.status, 200)
  const csp = res.headers.get('content-security-policy') ?? ''
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/, 'no inline script, no eval of text')
  t.match(csp, /connect-src 'self'(;|$)/, 'the page connects to its own origin only')
  t.equal(res.headers.get('x-frame-options'), 'DENY')
  t.equal(res.headers.get('cache-control'), 'no-store')
  const html = await res.text()
  const js = /src="(\/app\.[0-9a-f]{12}\.js)"/.exec(html)?.[1]
  const css = /href="(\/app\.[0-9a-f]{12}\.css)"/.exec(html)?.[1]
  if (js === undefined || css === undefined) throw new Error(`no bundle in ${html}`)
  const script = await fetch(base + js)
  t.equal(script.status, 200)
  t.match(script.headers.get('content-type'), /^text\/javascript/)
  t.match(script.headers.get('cache-control'), /immutable/)
  t.ok((await script.text()).length > 100_000, 'the app with the SDK and libsodium')
  t.match(await (await fetch(base + css)).text(), /--accent/)
  t.equal((await fetch(`${base}/readyz`)).status, 200)
  const missing = await fetch(`${base}/nothing-here`)
  t.equal(missing.status, 404)
  t.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found')
  t.equal((await fetch(base, { method: 'POST' })).status, 405)
})

t.test('/api/auth and /api/gateway are forwarded, with the path, query, body and X-Forwarded-For', async (t) => {
  const auth = await upstream(t, 'auth')
  const gateway = await upstream(t, 'gateway')
  const base = await web(t, { WEB_AUTH_URL: `${auth.url}/prefix/`, WEB_GATEWAY_URL: gateway.url })

  const res = await fetch(`${base}/api/auth/v1/users?limit=5`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: 'a=b' }, body: '{"username":"alice"}' })
  t.equal(res.status, 201)
  t.same(await res.json(), { name: 'auth' })
  t.equal(res.headers.get('set-cookie'), null, 'an upstream cannot set cookies on the page\'s origin')
  const [got] = auth.seen
  t.equal(got?.method, 'POST')
  t.equal(got?.url, '/prefix/v1/users?limit=5', 'the rest of the path under the upstream\'s own')
  t.equal(got?.body, '{"username":"alice"}')
  t.equal(got?.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(got?.headers.host, new URL(auth.url).host)
  t.equal(got?.headers.cookie, undefined, 'the page\'s cookies stay here')

  const g = await fetch(`${base}/api/gateway/v1/conversations`, { headers: { authorization: 'Bearer x' } })
  t.equal(g.headers.get('x-upstream'), 'gateway')
  t.equal(gateway.seen[0]?.headers.authorization, 'Bearer x')

  t.equal(await echo(`${base.replace('http:', 'ws:')}/api/gateway/v1/ws`, 'hi'), 'gateway:hi', 'the WebSocket is joined to the gateway')
  const elsewhere = new WebSocket(`${base.replace('http:', 'ws:')}/elsewhere`)
  await t.rejects(new Promise((resolve, reject) => { elsewhere.once('open', resolve); elsewhere.once('error', reject) }), 'no socket outside /api/gateway')

  // fetch and URL resolve the dots themselves: the raw path, as a hand-made client sends it.
  const dotted = await new Promise<number | undefined>((resolve, reject) => {
    const { hostname, port } = new URL(base)
    const req = request({ hostname, port, path: '/api/auth/v1/%2e%2e/%2e%2e/secret' }, (r) => { r.resume(); resolve(r.statusCode) })
    req.on('error', reject)
    req.end()
  })
  t.equal(dotted, 400, 'no stepping out of the upstream\'s path')
  t.equal(auth.seen.length, 1, 'and nothing reached the upstream')

  const big = await fetch(`${base}/api/auth/v1/users`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) })
  t.equal(big.status, 413)
})

// Put on the internet, the web server must not become a way around the
// ingress, which keeps the apps' operator endpoints inside the cluster
// (deploy/k8s/ingress.yaml): only the public API is forwarded.
t.test('only the public API is forwarded: the apps\' /metrics, /docs, /openapi.json, /healthz stay unreachable through the page\'s origin', async (t) => {
  const auth = await upstream(t, 'auth')
  const gateway = await upstream(t, 'gateway')
  const base = await web(t, { WEB_AUTH_URL: auth.url, WEB_GATEWAY_URL: gateway.url })
  for (const api of ['auth', 'gateway']) {
    for (const path of ['/metrics', '/docs', '/docs/json', '/openapi.json', '/asyncapi', '/asyncapi.json', '/healthz', '/readyz', '/', '/v1x/metrics', '/v1/../metrics']) {
      const res = await new Promise<number | undefined>((resolve, reject) => {
        const { hostname, port } = new URL(base)
        const req = request({ hostname, port, path: `/api/${api}${path}` }, (r) => { r.resume(); resolve(r.statusCode) })
        req.on('error', reject)
        req.end()
      })
      t.ok(res === 404 || res === 400, `/api/${api}${path} is not forwarded (${String(res)})`)
    }
  }
  t.same([...auth.seen, ...gateway.seen].map((s) => s.url), [], 'nothing reached an upstream')
  t.equal((await fetch(`${base}/api/auth/.well-known/jwks.json`)).headers.get('x-upstream'), 'auth', 'the JWKS is public')
  t.equal((await fetch(`${base}/api/auth/v1/users/me`)).headers.get('x-upstream'), 'auth', 'and /v1 of auth-api')
  t.equal((await fetch(`${base}/api/gateway/v1/conversations`)).headers.get('x-upstream'), 'gateway', 'and /v1 of the gateways')
})

t.test('a gateway that is down is skipped; with none up, 502 unavailable', async (t) => {
  const down = `http://127.0.0.1:${await freePort()}`
  const up = await upstream(t, 'second')
  const base = await web(t, { WEB_GATEWAY_URL: `${down},${up.url}` })
  for (let i = 0; i < 4; i++) {
    t.equal((await fetch(`${base}/api/gateway/v1/conversations`)).headers.get('x-upstream'), 'second')
    t.equal(await echo(`${base.replace('http:', 'ws:')}/api/gateway/v1/ws`, `n${i}`), `second:n${i}`)
  }

  const none = await web(t, { WEB_GATEWAY_URL: down, WEB_AUTH_URL: down })
  const res = await fetch(`${none}/api/gateway/v1/conversations`)
  t.equal(res.status, 502)
  t.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable')
  const ws = new WebSocket(`${none.replace('http:', 'ws:')}/api/gateway/v1/ws`)
  const status = await new Promise<number | undefined>((resolve) => {
    ws.once('unexpected-response', (_req, r) => { resolve(r.statusCode) })
    ws.once('error', () => { resolve(undefined) })
  })
  t.equal(status, 502)
})

t.test('configuration: defaults, and one line naming a wrong variable', async (t) => {
  const config = loadConfig(WebConfig, {})
  t.equal(config.PORT, 3003)
  t.equal(config.WEB_AUTH_URL, 'http://127.0.0.1:3000')
  t.equal(config.WEB_GATEWAY_URL, 'http://127.0.0.1:3001')
  t.throws(() => loadConfig(WebConfig, { WEB_GATEWAY_URL: 'ws://127.0.0.1:3001/v1/ws' }), new ConfigError('WEB_GATEWAY_URL is invalid (got "ws://127.0.0.1:3001/v1/ws"): expected the http(s) URL of a chat-gateway, or several, comma-separated'))
  t.throws(() => loadConfig(WebConfig, { PORT: 'x' }), ConfigError)
})
