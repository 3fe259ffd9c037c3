import t from 'tap'
import { build, signUp, PASSWORD } from '../helper.js'

// A session keeps the client address it was last used from (services/sessions.ts:
// set at sign-in, moved on by each refresh) and GET /v1/auth/sessions shows it.
// Behind a trusted proxy that address is X-Forwarded-For's; from anyone else
// the header is ignored.

t.test('a session shows the address it signed in from, and a refresh from elsewhere moves it on', async (t) => {
  const proxy = '10.0.0.2'
  const { app } = await build(t, { TRUST_PROXY: proxy })
  await signUp(app, 'alice')
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: proxy, headers: { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'laptop' }, payload: { username: 'alice', password: PASSWORD } })
  t.equal(login.statusCode, 200)
  const { accessToken, refreshToken } = login.json()
  const list = async (token: string) => (await app.inject({ url: '/v1/auth/sessions', headers: { authorization: `Bearer ${token as string}` } })).json().items
    .filter((s: { current: boolean }) => s.current)

  const [signedIn] = await list(accessToken)
  t.match(signedIn, { ip: '203.0.113.7', userAgent: 'laptop', current: true }, 'the forwarded client address, not the proxy\'s')

  const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/refresh', remoteAddress: proxy, headers: { 'x-forwarded-for': '198.51.100.9' }, payload: { refreshToken } })
  t.equal(refreshed.statusCode, 200)
  const [after] = await list(refreshed.json().accessToken)
  t.equal(after.id, signedIn.id, 'the same session')
  t.equal(after.ip, '198.51.100.9', 'the address of the latest refresh')
  t.ok(Date.parse(after.lastUsedAt) >= Date.parse(signedIn.lastUsedAt), 'lastUsedAt moves on with it')
  t.ok(Date.parse(after.expiresAt) >= Date.parse(signedIn.expiresAt), 'and so does expiresAt')
  t.equal(after.createdAt, signedIn.createdAt, 'createdAt stays')
  const row = await app.authDb.selectFrom('sessions').select('ip').where('id', '=', signedIn.id).executeTakeFirstOrThrow()
  t.equal(row.ip, '198.51.100.9', 'stored')
})

t.test('X-Forwarded-For from a client that is not a trusted proxy is ignored', async (t) => {
  const { app } = await build(t, { TRUST_PROXY: '10.0.0.2' })
  await signUp(app, 'bob')
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '192.0.2.50', headers: { 'x-forwarded-for': '203.0.113.7' }, payload: { username: 'bob', password: PASSWORD } })
  const items = (await app.inject({ url: '/v1/auth/sessions', headers: { authorization: `Bearer ${login.json().accessToken as string}` } })).json().items
  t.match(items.find((s: { current: boolean }) => s.current), { ip: '192.0.2.50' }, 'the connection\'s own address')
})
