import t from 'tap'
import { build, signUp, PASSWORD } from '../../helper.js'

t.test('login, register and refresh are rate-limited per IP: 429 rate_limited with Retry-After', async (t) => {
  const { app } = await build(t, { AUTH_RATE_LIMIT_PER_MINUTE: '3' })
  const alice = await signUp(app, 'alice') // one register, one login
  const from = (ip: string) => ({ remoteAddress: ip })

  for (const [url, payload] of [
    ['/v1/auth/login', { username: 'alice', password: PASSWORD }],
    ['/v1/users', { username: 'bob', password: PASSWORD }],
    ['/v1/auth/refresh', { refreshToken: alice.refreshToken }]
  ] as const) {
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await app.inject({ method: 'POST', url, payload, ...from('10.0.0.7') }))
    const last = answers[3]
    t.equal(last?.statusCode, 429, url)
    t.same(last?.json(), { error: { code: 'rate_limited', message: last?.json().error.message } })
    t.ok(Number(last?.headers['retry-after']) > 0, 'Retry-After')
    const other = await app.inject({ method: 'POST', url, payload, ...from('10.0.0.8') })
    t.not(other.statusCode, 429, 'another address is not affected')
  }
  const reads = await Promise.all(Array.from({ length: 10 }, async () => await app.inject({ url: '/v1/users/me', headers: alice.auth, ...from('10.0.0.7') })))
  t.same(new Set(reads.map((r) => r.statusCode)), new Set([200]), 'other routes are not limited')
})

t.test('a body over 16 KiB is refused with 413 too_large', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/users', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'alice', password: 'x'.repeat(17 * 1024) }) })
  t.equal(res.statusCode, 413)
  t.equal(res.json().error.code, 'too_large')
})

t.test('security headers on every answer', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/.well-known/jwks.json')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/)
  t.match(res.headers['strict-transport-security'], /max-age=/)
})

t.test('CORS: none by default; the listed origins when CORS_ORIGINS is set', async (t) => {
  const preflight = { method: 'OPTIONS' as const, url: '/v1/auth/login', headers: { origin: 'https://chat.example.com', 'access-control-request-method': 'POST' } }
  const closed = await build(t)
  t.notOk((await closed.app.inject(preflight)).headers['access-control-allow-origin'])

  const { app } = await build(t, { CORS_ORIGINS: 'https://chat.example.com,https://admin.example.com' })
  const res = await app.inject(preflight)
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-origin'], 'https://chat.example.com')
  t.match(res.headers['access-control-allow-headers'], /authorization/)
  const other = await app.inject({ ...preflight, headers: { ...preflight.headers, origin: 'https://evil.example.com' } })
  t.notOk(other.headers['access-control-allow-origin'])
})

t.test('a server error shows no detail to the client', async (t) => {
  const { app, logs } = await build(t)
  await app.authDb.schema.dropTable('login_attempts').execute()
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { error: { code: 'internal', message: 'internal server error' } })
  t.ok(logs.entries().some((e) => e.msg === 'request failed'), 'the detail is logged instead')
})
