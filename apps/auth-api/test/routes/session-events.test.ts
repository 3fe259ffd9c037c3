import t from 'tap'
import type { UserEvent } from '@metadome/contracts'
import { until, type Teardown } from '@metadome/testing'
import { build, makeAdmin, signIn, signUp, PASSWORD, type Account, type TestApp } from '../helper.js'
import { decode } from '../token-attacks/forge.js'
import { readUsersStream } from '../plugins/app/stream.js'

// What the chat side learns when sessions end (DESIGN.md "Sessions on an open
// socket"): a sessions_revoked event naming exactly the sessions that ended,
// so gateways close those sockets and leave the user's others open.

const sid = (account: Account): string => decode(account.accessToken).payload.sid as string

/**
 * The relay polls once every ten minutes here: an event reaches the stream
 * within these tests only if the request that wrote it woke the relay.
 */
async function app (t: Teardown): Promise<TestApp> {
  return await build(t, {}, { relay: { pollMs: 600_000, minBackoffMs: 50, maxBackoffMs: 500, publishTimeoutMs: 1_000 } })
}

/** The USERS stream's events of one type, once there are `count` of them. */
async function published (test: TestApp, type: UserEvent['type'], count: number): Promise<UserEvent[]> {
  return await until(async () => {
    const events = (await readUsersStream(test.config.NATS_URL, test.config.NATS_NAMESPACE)).map((s) => s.event).filter((e) => e.type === type)
    return events.length >= count && events
  }, 5_000, `${count} ${type} event(s) on the USERS stream`)
}

async function outboxed (test: TestApp, type: UserEvent['type']): Promise<UserEvent[]> {
  const rows = await test.app.authDb.selectFrom('outbox').select('payload').where('type', '=', type).orderBy('seq').execute()
  return rows.map((r) => r.payload as unknown as UserEvent)
}

t.test('logging out ends that session for the chat side too, and only that one', async (t) => {
  const test = await app(t)
  const phone = await signUp(test.app, 'alice')
  const laptop = await signIn(test.app, 'alice')
  const res = await test.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: laptop.refreshToken } })
  t.equal(res.statusCode, 204)

  const [event] = await published(test, 'sessions_revoked', 1)
  t.match(event, { type: 'sessions_revoked', user: { id: phone.id, username: 'alice' } })
  t.same(event?.sessionIds, [sid(laptop)], 'exactly the session that logged out')
  t.notOk(event?.sessionIds?.includes(sid(phone)), 'the phone\'s session is not in it')
  t.equal((await test.app.inject({ url: '/v1/users/me', headers: phone.auth })).statusCode, 200, 'the phone is still signed in')

  t.test('logging out again, or with a token never given, tells nobody anything', async (t) => {
    for (const refreshToken of [laptop.refreshToken, 'C'.repeat(43)]) {
      t.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken } })).statusCode, 204)
    }
    t.equal((await outboxed(test, 'sessions_revoked')).length, 1, 'no second event')
  })
})

t.test('signing another device out names that device\'s session only', async (t) => {
  const test = await app(t)
  const phone = await signUp(test.app, 'alice')
  const laptop = await signIn(test.app, 'alice')
  const res = await test.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${sid(phone)}`, headers: laptop.auth })
  t.equal(res.statusCode, 204)
  const [event] = await published(test, 'sessions_revoked', 1)
  t.same(event?.sessionIds, [sid(phone)])
})

t.test('a replayed refresh token ends its own session for the chat side, not the user\'s others', async (t) => {
  const test = await build(t, { REFRESH_GRACE_SECONDS: '0' }, { relay: { pollMs: 600_000, minBackoffMs: 50, maxBackoffMs: 500, publishTimeoutMs: 1_000 } })
  const stolen = await signUp(test.app, 'alice')
  const other = await signIn(test.app, 'alice')
  const refresh = async (refreshToken: string) => await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } })
  t.equal((await refresh(stolen.refreshToken)).statusCode, 200)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await refresh(stolen.refreshToken)).json().error.code, 'refresh_token_reused')

  const [event] = await published(test, 'sessions_revoked', 1)
  t.same(event?.sessionIds, [sid(stolen)])
  t.equal((await test.app.inject({ url: '/v1/users/me', headers: other.auth })).statusCode, 200, 'the other session goes on')
})

t.test('a password change names the sessions it ended and keeps the one that made it', async (t) => {
  const test = await app(t)
  const self = await signUp(test.app, 'alice')
  const phone = await signIn(test.app, 'alice')
  const tablet = await signIn(test.app, 'alice')
  const bob = await signUp(test.app, 'bob')
  const res = await test.app.inject({ method: 'PATCH', url: `/v1/users/${self.id}`, headers: self.auth, payload: { password: 'a brand new passphrase', currentPassword: PASSWORD } })
  t.equal(res.statusCode, 200)

  const [event] = await published(test, 'sessions_revoked', 1)
  t.same([...event?.sessionIds ?? []].sort(), [sid(phone), sid(tablet)].sort(), 'the other two sessions')
  t.notOk(event?.sessionIds?.includes(sid(self)), 'not the caller\'s own')
  t.notOk(event?.sessionIds?.includes(sid(bob)), 'nobody else\'s')

  t.test('a second change, with no other session left, ends none and says nothing of sessions', async (t) => {
    const again = await test.app.inject({ method: 'PATCH', url: `/v1/users/${self.id}`, headers: self.auth, payload: { password: 'yet another passphrase', currentPassword: 'a brand new passphrase' } })
    t.equal(again.statusCode, 200)
    t.equal((await outboxed(test, 'sessions_revoked')).length, 1, 'still one sessions_revoked event')
    t.equal((await outboxed(test, 'updated')).length, 2, 'the change itself is told')
  })

  t.test('an admin\'s reset names every session of the user', async (t) => {
    const admin = await signUp(test.app, 'root')
    await makeAdmin(test.app, admin.id)
    const second = await signIn(test.app, 'bob')
    const reset = await test.app.inject({ method: 'PATCH', url: `/v1/users/${bob.id}`, headers: admin.auth, payload: { password: 'reset by the admin' } })
    t.equal(reset.statusCode, 200)
    const events = await published(test, 'sessions_revoked', 2)
    t.same([...events[1]?.sessionIds ?? []].sort(), [sid(bob), sid(second)].sort())
  })
})

t.test('deleting a user stays one user-wide deleted event', async (t) => {
  const test = await app(t)
  const alice = await signUp(test.app, 'alice')
  await signIn(test.app, 'alice')
  const res = await test.app.inject({ method: 'DELETE', url: `/v1/users/${alice.id}`, headers: alice.auth, payload: { currentPassword: PASSWORD } })
  t.equal(res.statusCode, 204)
  const [event] = await published(test, 'deleted', 1)
  t.match(event, { type: 'deleted', user: { id: alice.id } })
  t.notOk(event !== undefined && 'sessionIds' in event, 'no session list: every session goes with the user')
  t.same(await outboxed(test, 'sessions_revoked'), [])
})
