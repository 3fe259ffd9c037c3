import t from 'tap'
import { createHash } from 'node:crypto'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { build, PASSWORD } from './helper.js'

// Every route that takes or gives a secret, at LOG_LEVEL trace, then a search
// of every response and every captured log line for each secret.

t.test('no password, hash or token appears in a response or a log line', async (t) => {
  const { app, logs } = await build(t, { LOG_LEVEL: 'trace' })
  const responses: LightMyRequestResponse[] = []
  const call = async (opts: InjectOptions) => {
    const res = await app.inject(opts)
    responses.push(res)
    return res
  }
  const newPassword = 'another long passphrase'
  const secrets = {
    passwords: [PASSWORD, newPassword, 'a wrong password guess'],
    tokens: [] as string[]
  }

  await call({ method: 'POST', url: '/v1/users', payload: { username: 'alice', password: PASSWORD, email: 'alice@example.com' } })
  await call({ method: 'POST', url: '/v1/users', payload: { username: 'weak', password: 'password1' } })
  const login = (await call({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })).json()
  await call({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'a wrong password guess' } })
  await call({ method: 'POST', url: '/v1/auth/login', payload: { username: 'nobody', password: 'a wrong password guess' } })
  const auth = { authorization: `Bearer ${login.accessToken as string}` }
  const refreshed = (await call({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: login.refreshToken } })).json()
  await call({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: 'A'.repeat(43) } })
  await call({ url: '/v1/users/me', headers: auth })
  await call({ url: '/v1/users/me', headers: { authorization: `Bearer ${login.accessToken as string}x` } })
  await call({ method: 'PATCH', url: `/v1/users/${login.user.id as string}`, headers: auth, payload: { password: newPassword, currentPassword: PASSWORD } })
  await call({ method: 'PATCH', url: `/v1/users/${login.user.id as string}`, headers: auth, payload: { username: 'alicia', currentPassword: 'a wrong password guess' } })
  const hashes = (await app.authDb.selectFrom('users').select('password_hash').execute()).map((r) => r.password_hash)
  const tokenHashes = (await app.authDb.selectFrom('refresh_tokens').select('token_hash').execute())
    .flatMap((r) => [r.token_hash.toString('hex'), r.token_hash.toString('base64'), r.token_hash.toString('base64url')])
  await call({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: refreshed.refreshToken } })
  await call({ method: 'DELETE', url: `/v1/users/${login.user.id as string}`, headers: auth, payload: { currentPassword: newPassword } })
  secrets.tokens.push(login.accessToken, login.refreshToken, refreshed.accessToken, refreshed.refreshToken)

  t.ok(hashes.length > 0 && hashes.every((h) => h.startsWith('$2b$04$')), 'bcrypt at cost 4 in tests')
  t.ok(logs.lines.length > 20, `${logs.lines.length} log lines captured`)
  const logText = logs.lines.join('\n')
  const bodies = responses.map((r) => r.body).join('\n')
  for (const secret of [...secrets.passwords, ...hashes, ...tokenHashes]) {
    t.notOk(logText.includes(secret), `not logged: ${secret.slice(0, 12)}…`)
    t.notOk(bodies.includes(secret), `not in a response: ${secret.slice(0, 12)}…`)
  }
  for (const token of secrets.tokens) {
    t.notOk(logText.includes(token), 'no token in the logs')
    // The signature part alone would be enough to replay a token.
    t.notOk(logText.includes(token.split('.').at(-1) ?? token), 'nor its signature')
  }
  const sha = (s: string) => createHash('sha256').update(s).digest('hex')
  t.notOk(logText.includes(sha(PASSWORD)), 'not even a plain hash of a password')
  t.notMatch(logText, /\$2[aby]\$\d\d\$/, 'no bcrypt hash of any kind')
})
