import t from 'tap'
import { sql } from 'kysely'
import { until } from '@metadome/testing'
import { build, signUp, signIn } from '../../helper.js'
import { decode } from '../../token-attacks/forge.js'

t.test('housekeeping forgets expired refresh tokens, long-ended sessions and stale login counts, and nothing else', async (t) => {
  const first = await build(t)
  const { app } = first
  const alice = await signUp(app, 'alice')
  const ended = await signIn(app, 'alice')
  const expired = await signIn(app, 'alice')
  const sid = (a: { accessToken: string }) => decode(a.accessToken).payload.sid as string
  await app.authDb.updateTable('sessions').set({ revoked_at: sql<Date>`now() - interval '31 days'`, revoked_reason: 'logout' }).where('id', '=', sid(ended)).execute()
  await app.authDb.updateTable('refresh_tokens').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('session_id', '=', sid(expired)).execute()
  await app.authDb.insertInto('login_attempts').values([
    { username_key: 'stale', failures: 3, locked_until: null, last_failure_at: sql<Date>`now() - interval '2 days'` },
    { username_key: 'fresh', failures: 3, locked_until: null }
  ]).execute()
  const address = { client_address: '192.0.2.1', failures: 0, locked_until: null, last_failure_at: null, signed_in_at: null }
  await app.authDb.insertInto('login_attempts_by_address').values([
    { ...address, username_key: 'stale', failures: 3, last_failure_at: sql<Date>`now() - interval '2 days'` },
    { ...address, username_key: 'fresh', failures: 3, last_failure_at: sql<Date>`now()` },
    { ...address, username_key: 'waiting', failures: 30, last_failure_at: sql<Date>`now() - interval '2 days'`, locked_until: sql<Date>`now() + interval '1 minute'` },
    { ...address, username_key: 'known', signed_in_at: sql<Date>`now() - interval '89 days'` },
    { ...address, username_key: 'long-gone', signed_in_at: sql<Date>`now() - interval '91 days'` }
  ]).execute()

  // Another replica starting on the same database sweeps at once.
  await build(t, { DATABASE_URL: first.config.DATABASE_URL, NATS_NAMESPACE: first.config.NATS_NAMESPACE })
  await until(async () => (await app.authDb.selectFrom('login_attempts').select('username_key').execute()).length === 1 &&
    (await app.authDb.selectFrom('login_attempts_by_address').select('username_key').where('client_address', '=', '192.0.2.1').execute()).length === 3, 5_000, 'the sweep')

  const sessions = (await app.authDb.selectFrom('sessions').select('id').execute()).map((s) => s.id).sort()
  t.same(sessions, [sid(alice), sid(expired)].sort(), 'the long-ended session is gone')
  const tokens = await app.authDb.selectFrom('refresh_tokens').select('session_id').execute()
  t.same(tokens.map((r) => r.session_id), [sid(alice)], 'the expired refresh token is gone')
  t.same((await app.authDb.selectFrom('login_attempts').select('username_key').execute()).map((r) => r.username_key), ['fresh'])
  const addresses = await app.authDb.selectFrom('login_attempts_by_address').select('username_key').where('client_address', '=', '192.0.2.1').orderBy('username_key').execute()
  t.same(addresses.map((r) => r.username_key), ['fresh', 'known', 'waiting'], 'counts per address: recent failures, waits and known addresses stay')
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: alice.refreshToken } })).statusCode, 200, 'live sessions are untouched')
})
