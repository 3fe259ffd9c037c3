import t, { type Test } from 'tap'
import { createLogger } from '@metadome/logger'
import { captureLogs, createTestNamespace, testNatsUrl, type Teardown } from '@metadome/testing'
import { createService, openapi, Conflict, type Service } from '@metadome/service'

// Every answer of every app carries helmet's headers: a CSP that allows
// nothing on the JSON API, a relaxed one only on the pages people read
// (Swagger UI at /docs, the AsyncAPI page), and a resource policy that lets
// a browser client on another origin call the APIs.

const STRICT_CSP = "default-src 'none';frame-ancestors 'none'"

async function build (t: Teardown): Promise<Service> {
  const natsUrl = testNatsUrl()
  const app = await createService({
    name: 'headers-test',
    logger: createLogger({ name: 'headers-test', level: 'info', destination: captureLogs().stream }),
    bodyLimit: 1024,
    nats: { url: natsUrl, namespace: createTestNamespace(t, natsUrl) }
  }, async (app) => {
    await app.register(openapi, { title: 'headers test', description: 'security headers', version: '1' })
    app.get('/v1/thing', async () => ({ ok: true }))
    app.post('/v1/thing', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => ({}))
    app.get('/v1/taken', async () => { throw new Conflict('already there') })
    app.get('/v1/crash', async () => { throw new Error('boom') })
    app.get('/asyncapi', async (_request, reply) => await reply.type('text/html; charset=utf-8').send('<style>p{}</style><p>page</p>'))
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

function assertApiHeaders (t: Test, headers: Record<string, unknown>, what: string): void {
  t.equal(headers['content-security-policy'], STRICT_CSP, `${what}: a CSP that allows nothing`)
  t.equal(headers['x-frame-options'], 'DENY', `${what}: not framed`)
  t.match(headers['strict-transport-security'], /^max-age=\d+/, `${what}: HSTS`)
  t.equal(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
  t.equal(headers['referrer-policy'], 'no-referrer', `${what}: no referrer`)
  t.equal(headers['cross-origin-resource-policy'], 'cross-origin', `${what}: readable from the browser client's origin`)
  t.notOk(headers['x-powered-by'], `${what}: no X-Powered-By`)
}

t.test('a JSON answer, a 404, a 4xx and a 5xx all carry the security headers', async (t) => {
  const app = await build(t)
  const ok = await app.inject('/v1/thing')
  t.equal(ok.statusCode, 200)
  assertApiHeaders(t, ok.headers, '200')

  const missing = await app.inject('/v1/nowhere')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error.code, 'not_found')
  assertApiHeaders(t, missing.headers, '404')

  const conflict = await app.inject('/v1/taken')
  t.equal(conflict.statusCode, 409)
  assertApiHeaders(t, conflict.headers, '409')

  const invalid = await app.inject({ method: 'POST', url: '/v1/thing', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  t.equal(invalid.statusCode, 400)
  assertApiHeaders(t, invalid.headers, '400 from the body parser')

  const crash = await app.inject('/v1/crash')
  t.equal(crash.statusCode, 500)
  t.equal(crash.json().error.code, 'internal')
  assertApiHeaders(t, crash.headers, '500')

  for (const url of ['/healthz', '/metrics']) assertApiHeaders(t, (await app.inject(url)).headers, url)
})

t.test('/docs still serves Swagger UI, under a CSP that allows its own scripts and styles only', async (t) => {
  const app = await build(t)
  for (const url of ['/docs', '/docs/']) {
    const docs = await app.inject(url)
    t.equal(docs.statusCode, 200, url)
    t.match(docs.headers['content-type'], /^text\/html/)
    t.match(docs.body, /swagger/i)
    const csp = String(docs.headers['content-security-policy'])
    t.match(csp, /script-src 'self'(;|$)/, `${url}: scripts from this origin only, none inline`)
    t.match(csp, /style-src 'self' 'unsafe-inline'/, `${url}: the UI's inline styles`)
    t.match(csp, /img-src 'self' data:/, `${url}: the UI's data: icons`)
    t.match(csp, /connect-src 'self'/, `${url}: it fetches the document from here`)
    t.match(csp, /frame-ancestors 'none'/)
    t.notMatch(csp, /upgrade-insecure-requests/, 'usable on plain http')
    t.equal(docs.headers['x-frame-options'], 'DENY')
    t.match(docs.headers['strict-transport-security'], /^max-age=/)
  }
  // The page's CSP fits it: every script it loads has a src on this origin.
  const html = (await app.inject('/docs')).body
  const scripts = html.match(/<script\b[^>]*>/g) ?? []
  t.ok(scripts.length > 0)
  for (const tag of scripts) t.match(tag, /src="\/docs\/static\/[^"]+\.js"/, tag)

  const asset = await app.inject('/docs/static/swagger-ui-bundle.js')
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
  const json = await app.inject('/docs/json')
  t.equal(json.statusCode, 200)
  t.equal(json.json().openapi, '3.1.0')
})

t.test('the AsyncAPI page may use its inline style; other routes keep the strict CSP', async (t) => {
  const app = await build(t)
  const page = await app.inject('/asyncapi')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-security-policy'], /style-src 'self' 'unsafe-inline'/)
  t.equal((await app.inject('/openapi.json')).headers['content-security-policy'], STRICT_CSP)
  t.equal((await app.inject('/docsx')).headers['content-security-policy'], STRICT_CSP, 'only /docs and below are pages')
})
