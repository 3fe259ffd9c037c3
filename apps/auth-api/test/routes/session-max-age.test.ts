import t from 'tap'
import { loadConfig } from '@metadome/config'
import { AuthConfig } from '../../src/config.js'
import { build, signUp } from '../helper.js'
import { decode } from '../token-attacks/forge.js'

// SESSION_MAX_AGE_SECONDS: however often a session is refreshed, it ends that
// long after its sign-in, so a stolen refresh token kept alive by refreshing
// does not work for ever.

const MAX_AGE_MS = 2_000

t.test('a session can be refreshed until SESSION_MAX_AGE_SECONDS after sign-in, and not after', async (t) => {
  const { app } = await build(t, { SESSION_MAX_AGE_SECONDS: String(MAX_AGE_MS / 1000) })
  const alice = await signUp(app, 'alice')
  const sid = decode(alice.accessToken).payload.sid as string
  const refresh = async (refreshToken: string) => await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } })
  const session = async () => await app.authDb.selectFrom('sessions').select(['created_at', 'expires_at']).where('id', '=', sid).executeTakeFirstOrThrow()
  const { created_at: createdAt } = await session()
  const end = createdAt.getTime() + MAX_AGE_MS

  t.ok((await session()).expires_at.getTime() <= end, 'sign-in gives the session no more than the maximum age')
  const first = await refresh(alice.refreshToken)
  t.equal(first.statusCode, 200, 'refreshed within the maximum age')
  const second = await refresh(first.json().refreshToken as string)
  t.equal(second.statusCode, 200, 'and again')
  const latest = second.json<{ accessToken: string, refreshToken: string }>()

  t.ok((await session()).expires_at.getTime() <= end, 'a refresh never extends the session past it')
  const tokens = await app.authDb.selectFrom('refresh_tokens').select('expires_at').where('session_id', '=', sid).execute()
  t.equal(tokens.length, 3)
  for (const token of tokens) t.ok(token.expires_at.getTime() <= end, 'nor any of its refresh tokens')

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - Date.now()) + 100))
  const late = await refresh(latest.refreshToken)
  t.equal(late.statusCode, 401, 'refused after it')
  t.equal(late.json().error.code, 'invalid_refresh_token')
  const me = await app.inject({ url: '/v1/users/me', headers: { authorization: `Bearer ${latest.accessToken}` } })
  t.equal(me.statusCode, 401, 'and the session\'s last access token no longer works here')
})

t.test('the default is 30 days, and a session ends no later than that', async (t) => {
  const { app, config } = await build(t)
  t.equal(config.SESSION_MAX_AGE_SECONDS, 30 * 24 * 3600)
  const alice = await signUp(app, 'alice')
  const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: alice.refreshToken } })
  t.equal(res.statusCode, 200)
  const row = await app.authDb.selectFrom('sessions').select(['created_at', 'expires_at']).executeTakeFirstOrThrow()
  t.ok(row.expires_at.getTime() <= row.created_at.getTime() + 30 * 24 * 3600 * 1000)
})

t.test('SESSION_MAX_AGE_SECONDS must be a positive whole number of seconds', async (t) => {
  for (const value of ['0', '-1', 'a month']) {
    t.throws(() => loadConfig(AuthConfig, { DATABASE_URL: 'postgres://localhost/x', SESSION_MAX_AGE_SECONDS: value }), /SESSION_MAX_AGE_SECONDS/, value)
  }
})
