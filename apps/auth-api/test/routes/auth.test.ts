import t from 'tap'
import { createPublicKey, verify } from 'node:crypto'
import { build, signUp, signIn, PASSWORD } from '../helper.js'
import { decode } from '../token-attacks/forge.js'

t.test('POST /v1/auth/login', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })
  const login = async (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload, headers })

  t.test('200: an EdDSA access token with kid, iss, aud, sub and a 15-minute exp, a refresh token and the user', async (t) => {
    const res = await login({ username: 'ALICE', password: PASSWORD })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body, { tokenType: 'Bearer', expiresIn: 900, refreshToken: /^[A-Za-z0-9_-]{43}$/, user: { id: alice.id, username: 'alice', email: 'alice@example.com' } })
    const { header, payload } = decode(body.accessToken)
    t.match(header, { alg: 'EdDSA', typ: 'JWT', kid: app.tokens.keys.current.kid })
    t.match(payload, { sub: alice.id, iss: 'metadome-auth', aud: 'metadome', sid: /^[0-9a-f-]{36}$/ })
    t.equal(Number(payload.exp) - Number(payload.iat), 900)
    // Anyone holding the JWKS can check it: the signature is plain Ed25519.
    const jwks = (await app.inject('/.well-known/jwks.json')).json()
    const [h, p, s] = (body.accessToken as string).split('.')
    const key = createPublicKey({ key: jwks.keys[0], format: 'jwk' })
    t.ok(verify(null, Buffer.from(`${h ?? ''}.${p ?? ''}`), key, Buffer.from(s ?? '', 'base64url')))
  })

  t.test('401 invalid_credentials, the same for a wrong password and an unknown user', async (t) => {
    const wrong = await login({ username: 'alice', password: 'not the password' })
    const unknown = await login({ username: 'nobody', password: 'not the password' })
    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, 401)
    t.equal(wrong.json().error.code, 'invalid_credentials')
    t.same(unknown.json(), wrong.json(), 'the same body')
    t.same(Object.keys(unknown.headers).sort(), Object.keys(wrong.headers).sort(), 'the same headers')
  })

  t.test('401 for the right password with more than 72 bytes appended (bcrypt would compare only 72)', async (t) => {
    const { app } = await build(t)
    const long = 'x'.repeat(72)
    await signUp(app, 'longpass', { password: long })
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'longpass', password: `${long}and more` } })
    t.equal(res.statusCode, 401)
    await signIn(app, 'longpass', long)
  })

  t.test('400 for a missing field or an unknown one', async (t) => {
    t.equal((await login({ username: 'alice' })).statusCode, 400)
    t.equal((await login({ username: 'alice', password: PASSWORD, remember: true })).statusCode, 400)
  })
})

t.test('POST /v1/auth/refresh and /v1/auth/logout', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const refresh = async (refreshToken: string) => await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } })
  const logout = async (refreshToken: string) => await app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken } })

  t.test('refresh: a new pair for the same session and user', async (t) => {
    const res = await refresh(alice.refreshToken)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.not(body.refreshToken, alice.refreshToken)
    t.match(body, { tokenType: 'Bearer', expiresIn: 900, user: { id: alice.id } })
    t.equal(decode(body.accessToken).payload.sid, decode(alice.accessToken).payload.sid)
    const me = await app.inject({ url: '/v1/users/me', headers: { authorization: `Bearer ${body.accessToken as string}` } })
    t.equal(me.statusCode, 200)
    t.equal((await refresh(body.refreshToken)).statusCode, 200, 'and the new one works in turn')
  })

  t.test('401 invalid_refresh_token for a token the server never gave', async (t) => {
    const res = await refresh('A'.repeat(43))
    t.equal(res.statusCode, 401)
    t.equal(res.json().error.code, 'invalid_refresh_token')
  })

  t.test('400 for something that is not a refresh token at all', async (t) => {
    t.equal((await refresh('short')).statusCode, 400)
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: {} })).statusCode, 400)
  })

  t.test('logout: 204, then neither the refresh token nor the access token of that session works', async (t) => {
    const s = await signIn(app, 'alice')
    const res = await logout(s.refreshToken)
    t.equal(res.statusCode, 204)
    t.equal((await refresh(s.refreshToken)).statusCode, 401)
    t.equal((await app.inject({ url: '/v1/users/me', headers: s.auth })).statusCode, 401)
    t.equal((await app.inject({ url: '/v1/users/me', headers: alice.auth })).statusCode, 200, 'other sessions go on')
  })

  t.test('logout with an unknown token is 204: it is logged out already', async (t) => {
    t.equal((await logout('B'.repeat(43))).statusCode, 204)
  })

  t.test('logout 400 for a malformed body', async (t) => {
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: 'x', more: 1 } })).statusCode, 400)
  })
})

t.test('GET /v1/auth/sessions and DELETE /v1/auth/sessions/:id', async (t) => {
  const { app } = await build(t)
  const phone = await signUp(app, 'alice')
  const laptop = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'Laptop/1.0' }, payload: { username: 'alice', password: PASSWORD } })
  const laptopAuth = { authorization: `Bearer ${laptop.json().accessToken as string}` }
  const bob = await signUp(app, 'bob')

  t.test('lists the caller\'s active sessions, newest first, marking the current one', async (t) => {
    const res = await app.inject({ url: '/v1/auth/sessions', headers: laptopAuth })
    t.equal(res.statusCode, 200)
    const { items } = res.json()
    t.equal(items.length, 2)
    t.match(items[0], { current: true, userAgent: 'Laptop/1.0', createdAt: String, lastUsedAt: String, expiresAt: String })
    t.match(items[1], { current: false })
    t.notMatch(res.body, /token|hash|key/i)
  })

  t.test('ends one session: its tokens stop working, the caller\'s go on; a sessions_revoked event is written', async (t) => {
    const phoneSid = decode(phone.accessToken).payload.sid as string
    const res = await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phoneSid}`, headers: laptopAuth })
    t.equal(res.statusCode, 204)
    t.equal((await app.inject({ url: '/v1/users/me', headers: phone.auth })).statusCode, 401)
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: phone.refreshToken } })).statusCode, 401)
    t.equal((await app.inject({ url: '/v1/users/me', headers: laptopAuth })).statusCode, 200)
    const last = await app.authDb.selectFrom('outbox').select('type').orderBy('seq', 'desc').executeTakeFirstOrThrow()
    t.equal(last.type, 'sessions_revoked')
  })

  t.test('404 for a session that is someone else\'s, already ended, or none', async (t) => {
    const bobSid = decode(bob.accessToken).payload.sid as string
    const phoneSid = decode(phone.accessToken).payload.sid as string
    for (const id of [bobSid, phoneSid, '00000000-0000-4000-8000-000000000000']) {
      const res = await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${id}`, headers: laptopAuth })
      t.equal(res.statusCode, 404)
      t.equal(res.json().error.code, 'not_found')
    }
    t.equal((await app.inject({ url: '/v1/users/me', headers: bob.auth })).statusCode, 200, 'bob was not signed out')
  })

  t.test('400 for an id that is not a UUID; 401 without a token', async (t) => {
    t.equal((await app.inject({ method: 'DELETE', url: '/v1/auth/sessions/nope', headers: laptopAuth })).statusCode, 400)
    t.equal((await app.inject({ url: '/v1/auth/sessions' })).statusCode, 401)
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${decode(bob.accessToken).payload.sid as string}` })).statusCode, 401)
  })
})
