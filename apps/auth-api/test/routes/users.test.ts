import t from 'tap'
import { build, signUp, signIn, makeAdmin, PASSWORD } from '../helper.js'
import type { FastifyInstance } from 'fastify'

async function outboxTypes (app: FastifyInstance): Promise<string[]> {
  const rows = await app.authDb.selectFrom('outbox').select('type').orderBy('seq').execute()
  return rows.map((r) => r.type)
}

t.test('POST /v1/users', async (t) => {
  const { app } = await build(t)
  const register = async (payload: Record<string, unknown>) => await app.inject({ method: 'POST', url: '/v1/users', payload })

  t.test('registers a user: 201, the user with their own email, never a password or hash', async (t) => {
    const res = await register({ username: 'Alice', password: PASSWORD, email: 'alice@example.com', displayName: 'Alice A.' })
    t.equal(res.statusCode, 201)
    const { user } = res.json()
    t.match(user, { username: 'Alice', displayName: 'Alice A.', email: 'alice@example.com', id: /^[0-9a-f-]{36}$/ })
    t.same(Object.keys(user).sort(), ['createdAt', 'disabled', 'displayName', 'email', 'emailVerified', 'id', 'role', 'updatedAt', 'username'])
    t.notMatch(res.body, /password|hash|\$2b\$/i)
    t.same(await outboxTypes(app), ['registered'], 'a registered event in the same transaction')
  })

  t.test('the display name defaults to the username', async (t) => {
    const res = await register({ username: 'bob', password: PASSWORD })
    t.equal(res.statusCode, 201)
    t.equal(res.json().user.displayName, 'bob')
  })

  t.test('409 username_taken, without regard to case', async (t) => {
    const res = await register({ username: 'ALICE', password: PASSWORD })
    t.equal(res.statusCode, 409)
    t.equal(res.json().error.code, 'username_taken')
  })

  t.test('409 email_taken, without regard to case', async (t) => {
    const res = await register({ username: 'carol', password: PASSWORD, email: 'ALICE@example.com' })
    t.equal(res.statusCode, 409)
    t.equal(res.json().error.code, 'email_taken')
  })

  t.test('400 for an unknown field, rather than ignoring it', async (t) => {
    const res = await register({ username: 'dave', password: PASSWORD, role: 'admin' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error.code, 'bad_request')
    t.match(res.json().error.message, /additional properties/)
  })

  for (const [what, payload] of [
    ['a username of 2 characters', { username: 'ab', password: PASSWORD }],
    ['a username of 33 characters', { username: 'a'.repeat(33), password: PASSWORD }],
    ['a username with a space', { username: 'a b c', password: PASSWORD }],
    ['a password of 7 characters', { username: 'erin', password: 'Xq7!kp2' }],
    ['a display name of 65 characters', { username: 'erin', password: PASSWORD, displayName: 'x'.repeat(65) }],
    ['an invalid email', { username: 'erin', password: PASSWORD, email: 'not-an-email' }],
    ['a missing password', { username: 'erin' }],
    ['a number for a username', { username: 12345, password: PASSWORD }]
  ] as const) {
    t.test(`400 bad_request for ${what}`, async (t) => {
      const res = await register(payload)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error.code, 'bad_request')
    })
  }

  t.test('400 password_too_long past 72 bytes of UTF-8, even under 72 characters', async (t) => {
    const res = await register({ username: 'frank', password: 'é'.repeat(37) }) // 37 characters, 74 bytes
    t.equal(res.statusCode, 400)
    t.equal(res.json().error.code, 'password_too_long')
    t.match(res.json().error.message, /72 bytes/)
  })

  t.test('exactly 72 bytes is accepted', async (t) => {
    const res = await register({ username: 'frank', password: 'é'.repeat(36) })
    t.equal(res.statusCode, 201)
  })

  t.test('400 weak_password for one of the 10,000 most common passwords, in any case', async (t) => {
    for (const password of ['iloveyou', 'Password1', 'QWERTYUIOP']) {
      const res = await register({ username: 'grace', password })
      t.equal(res.statusCode, 400, password)
      t.equal(res.json().error.code, 'weak_password')
    }
  })

  t.test('400 weak_password when the password is the username', async (t) => {
    const res = await register({ username: 'henrietta', password: 'HENRIETTA' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error.code, 'weak_password')
  })
})

t.test('GET /v1/users/me and /v1/users/:id', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })
  const bob = await signUp(app, 'bob', { email: 'bob@example.com' })

  t.test('me: the caller, with their email', async (t) => {
    const res = await app.inject({ url: '/v1/users/me', headers: alice.auth })
    t.equal(res.statusCode, 200)
    t.match(res.json().user, { id: alice.id, username: 'alice', email: 'alice@example.com' })
  })

  t.test('another user, without their email', async (t) => {
    const res = await app.inject({ url: `/v1/users/${bob.id}`, headers: alice.auth })
    t.equal(res.statusCode, 200)
    t.equal(res.json().user.username, 'bob')
    t.notOk('email' in res.json().user)
  })

  t.test('an admin sees the email of others', async (t) => {
    await makeAdmin(app, alice.id)
    const res = await app.inject({ url: `/v1/users/${bob.id}`, headers: alice.auth })
    t.equal(res.json().user.email, 'bob@example.com')
  })

  t.test('404 not_found for an id that is no user', async (t) => {
    const res = await app.inject({ url: '/v1/users/00000000-0000-4000-8000-000000000000', headers: alice.auth })
    t.equal(res.statusCode, 404)
    t.equal(res.json().error.code, 'not_found')
  })

  t.test('400 bad_request for an id that is not a UUID', async (t) => {
    const res = await app.inject({ url: '/v1/users/nope', headers: alice.auth })
    t.equal(res.statusCode, 400)
  })

  t.test('401 unauthorized without a token', async (t) => {
    for (const url of ['/v1/users/me', `/v1/users/${bob.id}`]) {
      const res = await app.inject({ url })
      t.equal(res.statusCode, 401)
      t.equal(res.json().error.code, 'unauthorized')
    }
  })
})

t.test('GET /v1/users', async (t) => {
  const { app } = await build(t)
  const me = await signUp(app, 'mallory', { displayName: 'Zed' })
  for (const [username, displayName] of [['amy', 'Amy Pond'], ['Bea', 'Zora'], ['carl', 'Beatrix'], ['dora', 'Dora'], ['eve', 'eve']] as const) {
    await signUp(app, username, { displayName })
  }
  const list = async (query: string) => await app.inject({ url: `/v1/users?${query}`, headers: me.auth })
  const names = (res: { json: () => { items: Array<{ username: string }> } }) => res.json().items.map((u) => u.username)

  t.test('pages through everyone in username order, case-insensitive', async (t) => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await list(`limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
      t.equal(res.statusCode, 200)
      t.ok(res.json().items.length <= 2)
      seen.push(...names(res))
      cursor = res.json().nextCursor
      pages++
    } while (cursor !== null)
    t.same(seen, ['amy', 'Bea', 'carl', 'dora', 'eve', 'mallory'])
    t.equal(pages, 3)
  })

  t.test('a page boundary is stable while users are added before and after it', async (t) => {
    const first = await list('limit=3')
    t.same(names(first), ['amy', 'Bea', 'carl'])
    await signUp(app, 'aaron')
    await signUp(app, 'dan')
    const second = await list(`limit=3&cursor=${first.json().nextCursor as string}`)
    t.same(names(second), ['dan', 'dora', 'eve'], 'no one skipped or repeated; the newcomer after the cursor appears')
  })

  t.test('q is a case-insensitive prefix of the username or display name', async (t) => {
    t.same(names(await list('q=BE')), ['Bea', 'carl'], 'username Bea, display name Beatrix')
    t.same(names(await list('q=z')), ['Bea', 'mallory'])
    t.same(names(await list('q=%25')), [], 'LIKE wildcards are literal')
    t.same(names(await list('q=_')), [])
  })

  t.test('the default limit is 20 and at most 100 may be asked', async (t) => {
    t.equal((await list('')).json().items.length, 8)
    const res = await list('limit=101')
    t.equal(res.statusCode, 400)
    t.equal((await list('limit=0')).statusCode, 400)
  })

  t.test('400 for a cursor this server did not give, or an unknown parameter', async (t) => {
    t.equal((await list('cursor=' + Buffer.from('NOT VALID').toString('base64url'))).statusCode, 400)
    t.equal((await list('sort=desc')).statusCode, 400)
  })

  t.test('401 without a token', async (t) => {
    t.equal((await app.inject({ url: '/v1/users' })).statusCode, 401)
  })
})

t.test('PATCH /v1/users/:id', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob', { email: 'bob@example.com' })
  const patch = async (who: { auth: Record<string, string> }, id: string, payload: Record<string, unknown>) =>
    await app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: who.auth, payload })

  t.test('a user changes their display name and email (with currentPassword); an updated event is written', async (t) => {
    const before = await outboxTypes(app)
    const res = await patch(alice, alice.id, { displayName: 'Alice Liddell', email: 'alice@example.com', currentPassword: PASSWORD })
    t.equal(res.statusCode, 200)
    t.match(res.json().user, { displayName: 'Alice Liddell', email: 'alice@example.com' })
    t.same((await outboxTypes(app)).slice(before.length), ['updated'])
    const cleared = await patch(alice, alice.id, { email: null, currentPassword: PASSWORD })
    t.equal(cleared.json().user.email, null)
  })

  t.test('400 current_password_required to change one\'s own username, email or password without it', async (t) => {
    for (const body of [{ username: 'alicia' }, { password: 'a new long passphrase' }, { email: 'alice@elsewhere.example' }]) {
      const res = await patch(alice, alice.id, body)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error.code, 'current_password_required')
    }
  })

  t.test('403 wrong_current_password with the wrong one', async (t) => {
    const res = await patch(alice, alice.id, { username: 'alicia', currentPassword: 'not my password' })
    t.equal(res.statusCode, 403)
    t.equal(res.json().error.code, 'wrong_current_password')
  })

  t.test('a username change with the current password', async (t) => {
    const res = await patch(alice, alice.id, { username: 'alicia', currentPassword: PASSWORD })
    t.equal(res.statusCode, 200)
    t.equal(res.json().user.username, 'alicia')
  })

  t.test('409 username_taken', async (t) => {
    const res = await patch(alice, alice.id, { username: 'BOB', currentPassword: PASSWORD })
    t.equal(res.statusCode, 409)
    t.equal(res.json().error.code, 'username_taken')
  })

  t.test('400 weak_password for a common new password', async (t) => {
    const res = await patch(alice, alice.id, { password: 'iloveyou', currentPassword: PASSWORD })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error.code, 'weak_password')
  })

  t.test('403 forbidden to change another user', async (t) => {
    const res = await patch(alice, bob.id, { displayName: 'Bobby' })
    t.equal(res.statusCode, 403)
    t.equal(res.json().error.code, 'forbidden')
  })

  t.test('400 for an unknown field', async (t) => {
    const res = await patch(alice, alice.id, { isAdmin: true })
    t.equal(res.statusCode, 400)
  })

  t.test('403 forbidden to give oneself a role', async (t) => {
    const res = await patch(alice, alice.id, { role: 'admin' })
    t.equal(res.statusCode, 403)
  })

  t.test('a password change ends every other session, keeps this one, and the new password works', async (t) => {
    const other = await signIn(app, 'alicia')
    const res = await patch(alice, alice.id, { password: 'a new long passphrase', currentPassword: PASSWORD })
    t.equal(res.statusCode, 200)
    t.equal((await app.inject({ url: '/v1/users/me', headers: other.auth })).statusCode, 401, 'the other session\'s access token is refused')
    const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: other.refreshToken } })
    t.equal(refreshed.statusCode, 401, 'and so is its refresh token')
    t.equal((await app.inject({ url: '/v1/users/me', headers: alice.auth })).statusCode, 200, 'this session goes on')
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alicia', password: PASSWORD } })).statusCode, 401)
    await signIn(app, 'alicia', 'a new long passphrase')
    t.same((await outboxTypes(app)).slice(-2), ['updated', 'sessions_revoked'])
  })

  t.test('an admin changes another user, password included, without their password, ending all their sessions', async (t) => {
    await makeAdmin(app, alice.id)
    const res = await patch(alice, bob.id, { displayName: 'Bobby', password: 'reset by the admin' })
    t.equal(res.statusCode, 200)
    t.match(res.json().user, { displayName: 'Bobby', email: 'bob@example.com' })
    t.equal((await app.inject({ url: '/v1/users/me', headers: bob.auth })).statusCode, 401)
    await signIn(app, 'bob', 'reset by the admin')
  })

  t.test('404 not_found for an admin changing no one', async (t) => {
    const res = await patch(alice, '00000000-0000-4000-8000-000000000000', { displayName: 'x' })
    t.equal(res.statusCode, 404)
  })

  t.test('401 without a token', async (t) => {
    const res = await app.inject({ method: 'PATCH', url: `/v1/users/${alice.id}`, payload: { displayName: 'x' } })
    t.equal(res.statusCode, 401)
  })
})

t.test('DELETE /v1/users/:id', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')
  const admin = await signUp(app, 'root')
  await makeAdmin(app, admin.id)
  const del = async (who: { auth: Record<string, string> }, id: string, payload?: Record<string, unknown>) =>
    await app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: who.auth, ...(payload !== undefined && { payload }) })

  t.test('400 current_password_required to delete oneself without it', async (t) => {
    const res = await del(alice, alice.id)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error.code, 'current_password_required')
  })

  t.test('403 wrong_current_password', async (t) => {
    const res = await del(alice, alice.id, { currentPassword: 'wrong password' })
    t.equal(res.statusCode, 403)
    t.equal(res.json().error.code, 'wrong_current_password')
  })

  t.test('403 forbidden to delete someone else', async (t) => {
    const res = await del(alice, bob.id, { currentPassword: PASSWORD })
    t.equal(res.statusCode, 403)
  })

  t.test('a user deletes themself: 204, the record, sessions and keys go, a deleted event is written', async (t) => {
    await app.authDb.insertInto('device_lists').values({ user_id: alice.id, version: 1, signed: JSON.stringify({}) }).execute()
    const res = await del(alice, alice.id, { currentPassword: PASSWORD })
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal((await app.inject({ url: '/v1/users/me', headers: alice.auth })).statusCode, 401, 'the token of a deleted user is refused')
    t.equal((await app.inject({ url: `/v1/users/${alice.id}`, headers: bob.auth })).statusCode, 404)
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })).statusCode, 401)
    for (const table of ['sessions', 'device_lists'] as const) {
      const rows = await app.authDb.selectFrom(table).select('user_id').where('user_id', '=', alice.id).execute()
      t.equal(rows.length, 0, `no ${table} left`)
    }
    t.equal((await outboxTypes(app)).at(-1), 'deleted')
  })

  t.test('an admin deletes another user with no body at all', async (t) => {
    const res = await del(admin, bob.id)
    t.equal(res.statusCode, 204)
    t.equal((await app.inject({ url: '/v1/users/me', headers: bob.auth })).statusCode, 401)
  })

  t.test('404 not_found for an admin deleting no one', async (t) => {
    const res = await del(admin, bob.id)
    t.equal(res.statusCode, 404)
  })

  t.test('401 without a token', async (t) => {
    const res = await app.inject({ method: 'DELETE', url: `/v1/users/${admin.id}` })
    t.equal(res.statusCode, 401)
  })
})
