import t from 'tap'
import { build, signUp } from '../helper.js'

t.test('a spent refresh token presented after the grace window revokes the whole session (token theft)', async (t) => {
  const { app } = await build(t, { REFRESH_GRACE_SECONDS: '0' })
  const alice = await signUp(app, 'alice')
  const refresh = async (refreshToken: string) => await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } })

  const first = await refresh(alice.refreshToken)
  t.equal(first.statusCode, 200)
  const rotated = first.json()
  await new Promise((resolve) => setTimeout(resolve, 20))

  const stolen = await refresh(alice.refreshToken)
  t.equal(stolen.statusCode, 401)
  t.equal(stolen.json().error.code, 'refresh_token_reused')
  t.equal((await refresh(rotated.refreshToken)).statusCode, 401, 'the legitimate successor is dead too')
  t.equal((await app.inject({ url: '/v1/users/me', headers: { authorization: `Bearer ${rotated.accessToken as string}` } })).statusCode, 401, 'and so are the session\'s access tokens')
  const last = await app.authDb.selectFrom('outbox').select('type').orderBy('seq', 'desc').executeTakeFirstOrThrow()
  t.equal(last.type, 'sessions_revoked', 'the chat side is told')
})

t.test('two tabs refreshing with the same token at the same instant both get the same new pair', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const refresh = async (refreshToken: string) => await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } })

  const [a, b] = await Promise.all([refresh(alice.refreshToken), refresh(alice.refreshToken)])
  t.equal(a?.statusCode, 200)
  t.equal(b?.statusCode, 200)
  t.equal(a?.json().refreshToken, b?.json().refreshToken, 'the same refresh token')
  t.equal(a?.json().accessToken, b?.json().accessToken, 'the same access token')

  const late = await refresh(alice.refreshToken)
  t.equal(late.json().refreshToken, a?.json().refreshToken, 'a third tab within the grace window too')
  const next = await refresh(a?.json().refreshToken as string)
  t.equal(next.statusCode, 200, 'the session goes on with the shared successor')
  t.equal((await app.inject({ url: '/v1/users/me', headers: { authorization: `Bearer ${next.json().accessToken as string}` } })).statusCode, 200)
  const sessions = await app.authDb.selectFrom('sessions').select('revoked_at').execute()
  t.same(sessions.map((s) => s.revoked_at), [null], 'nobody was logged out')
})

t.test('ten tabs at once: one rotation, ten identical answers', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const answers = await Promise.all(Array.from({ length: 10 }, async () =>
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: alice.refreshToken } })))
  t.same(new Set(answers.map((r) => r.statusCode)), new Set([200]))
  t.equal(new Set(answers.map((r) => r.json().refreshToken as string)).size, 1)
  const tokens = await app.authDb.selectFrom('refresh_tokens').select('spent_at').execute()
  t.equal(tokens.length, 2, 'the first token and its one successor')
})
