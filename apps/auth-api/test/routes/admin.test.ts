import t from 'tap'
import { build, makeAdmin, signIn, signUp, PASSWORD } from '../helper.js'
import { decode } from '../token-attacks/forge.js'

// Admins disable users (PATCH /v1/users/:id {disabled}) and read the audit
// log (GET /v1/admin/audit).

t.test('a disabled user cannot sign in, and every session of theirs ends at once', async (t) => {
  const { app } = await build(t)
  const root = await signUp(app, 'root')
  await makeAdmin(app, root.id)
  const admin = await signIn(app, 'root')
  const bob = await signUp(app, 'bob', { email: 'bob@example.com' })
  const bobLaptop = await signIn(app, 'bob')

  const res = await app.inject({ method: 'PATCH', url: `/v1/users/${bob.id}`, headers: admin.auth, payload: { disabled: true } })
  t.equal(res.statusCode, 200)
  t.match(res.json().user, { id: bob.id, disabled: true, role: 'user', email: 'bob@example.com' })

  for (const s of [bob, bobLaptop]) {
    t.equal((await app.inject({ url: '/v1/users/me', headers: s.auth })).statusCode, 401, 'the access token stops working')
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: s.refreshToken } })).statusCode, 401, 'so does the refresh token')
  }
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'bob', password: PASSWORD } })
  t.equal(login.statusCode, 403)
  t.equal(login.json().error.code, 'account_disabled')
  const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'bob', password: 'not the password' } })
  t.equal(wrong.json().error.code, 'invalid_credentials', 'a wrong password says nothing of the account\'s state')

  const event = await app.authDb.selectFrom('outbox').select('payload').where('type', '=', 'sessions_revoked').executeTakeFirstOrThrow()
  t.same([...event.payload.sessionIds ?? []].sort(), [decode(bob.accessToken).payload.sid, decode(bobLaptop.accessToken).payload.sid].sort(), 'the gateways are told which sessions ended')

  t.test('admins list users with email and status', async (t) => {
    const list = await app.inject({ url: '/v1/users?q=bob', headers: admin.auth })
    t.match(list.json().items, [{ username: 'bob', email: 'bob@example.com', disabled: true, role: 'user' }])
    const other = await signUp(app, 'carol')
    const seen = await app.inject({ url: '/v1/users?q=bob', headers: other.auth })
    t.notOk('disabled' in seen.json().items[0], 'others see neither email nor status')
    t.notOk('email' in seen.json().items[0])
  })

  t.test('enabled again, they sign in', async (t) => {
    const again = await app.inject({ method: 'PATCH', url: `/v1/users/${bob.id}`, headers: admin.auth, payload: { disabled: false } })
    t.equal(again.json().user.disabled, false)
    await signIn(app, 'bob')
  })

  t.test('403 for a non-admin, and for an admin on themself', async (t) => {
    const carol = await signIn(app, 'carol')
    const byUser = await app.inject({ method: 'PATCH', url: `/v1/users/${carol.id}`, headers: carol.auth, payload: { disabled: true } })
    t.equal(byUser.statusCode, 403)
    const selfDisable = await app.inject({ method: 'PATCH', url: `/v1/users/${root.id}`, headers: admin.auth, payload: { disabled: true } })
    t.equal(selfDisable.statusCode, 403)
    const selfDemote = await app.inject({ method: 'PATCH', url: `/v1/users/${root.id}`, headers: admin.auth, payload: { role: 'user' } })
    t.equal(selfDemote.statusCode, 403)
    t.equal((await app.inject({ method: 'PATCH', url: `/v1/users/${carol.id}`, headers: admin.auth, payload: { disabled: 'yes' } })).statusCode, 400)
  })
})

t.test('GET /v1/admin/audit: newest first, paged, by user; admins only', async (t) => {
  const { app } = await build(t)
  const root = await signUp(app, 'root')
  await makeAdmin(app, root.id)
  const admin = await signIn(app, 'root')
  const dave = await signUp(app, 'dave')
  await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'dave', password: 'wrong password!' }, remoteAddress: '198.51.100.7' })
  await app.inject({ method: 'PATCH', url: `/v1/users/${dave.id}`, headers: admin.auth, payload: { role: 'admin' } })

  const res = await app.inject({ url: `/v1/admin/audit?userId=${dave.id}`, headers: admin.auth })
  t.equal(res.statusCode, 200)
  const { items } = res.json()
  t.same(items.map((e: { action: string }) => e.action), ['user.role_changed', 'login.failed', 'login.succeeded', 'user.registered'])
  t.match(items[0], { actorId: root.id, userId: dave.id, details: { from: 'user', to: 'admin' }, occurredAt: String })
  t.match(items[1], { actorId: null, userId: dave.id, ip: '198.51.100.7', details: { reason: 'wrong_password' } })
  t.match(items[2], { actorId: dave.id, details: { method: 'password' } })

  const first = await app.inject({ url: '/v1/admin/audit?limit=2', headers: admin.auth })
  t.equal(first.statusCode, 200, first.body)
  const second = await app.inject({ url: `/v1/admin/audit?limit=2&cursor=${first.json().nextCursor as string}`, headers: admin.auth })
  const all = await app.inject({ url: '/v1/admin/audit?limit=200', headers: admin.auth })
  t.same([...first.json().items, ...second.json().items].map((e: { id: string }) => e.id), all.json().items.slice(0, 4).map((e: { id: string }) => e.id), 'pages follow each other')
  t.equal(all.json().nextCursor, null)

  t.equal((await app.inject({ url: '/v1/admin/audit', headers: dave.auth })).statusCode, 200, 'dave, an admin now, reads it with the token he had')
  await app.inject({ method: 'PATCH', url: `/v1/users/${dave.id}`, headers: admin.auth, payload: { role: 'user' } })
  t.equal((await app.inject({ url: '/v1/admin/audit', headers: dave.auth })).statusCode, 403, 'demoted, he no longer may')
  t.equal((await app.inject({ url: '/v1/admin/audit' })).statusCode, 401)
  t.equal((await app.inject({ url: '/v1/admin/audit?limit=0', headers: admin.auth })).statusCode, 400)
  t.equal((await app.inject({ url: '/v1/admin/audit?cursor=bm9wZQ', headers: admin.auth })).statusCode, 400)
  t.equal((await app.inject({ url: '/v1/admin/audit?userId=nope', headers: admin.auth })).statusCode, 400)
  t.equal((await app.inject({ url: '/v1/admin/audit?extra=1', headers: admin.auth })).statusCode, 400)

  t.test('the log is append-only, whatever the application does', async (t) => {
    await t.rejects(app.authDb.deleteFrom('audit_log').execute(), /append-only/)
    await t.rejects(app.authDb.updateTable('audit_log').set({ ip: null }).execute(), /append-only/)
  })
})
