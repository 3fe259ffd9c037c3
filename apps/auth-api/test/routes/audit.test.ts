import t from 'tap'
import { TOTP, Secret } from 'otpauth'
import { AuditAction } from '@metadome/contracts'
import { build, makeAdmin, signIn, signUp, PASSWORD } from '../helper.js'
import { mailReceiver } from '@metadome/testing/mail'
import { SoftAuthenticator } from '../soft-authenticator.js'

// Every kind of change leaves an audit entry (DESIGN.md "Accounts"), and no
// entry holds a secret: this test makes one of each, keeps every secret it
// sees on the way, and looks for each in the whole log.

const code = (secret: string, offset = 0): string =>
  new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset * 30_000 })
const tokenOf = (link: string): string => new URL(link).searchParams.get('token') ?? ''

t.test('each kind of change is audited: who, what, when, from where; never a secret', async (t) => {
  const inbox = await mailReceiver(t)
  const { app } = await build(t, { SMTP_URL: inbox.url, PUBLIC_URL: 'https://chat.example.com', REFRESH_GRACE_SECONDS: '0' })
  const secrets: string[] = [PASSWORD]
  const keep = <T extends string>(s: T): T => { secrets.push(s); return s }
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, auth?: { authorization: string }, payload?: Record<string, unknown>) => {
    const res = await app.inject({ method, url, remoteAddress: '203.0.113.5', ...(auth !== undefined && { headers: auth }), ...(payload !== undefined && { payload }) })
    if (res.statusCode >= 500) throw new Error(`${method} ${url}: ${res.body}`)
    return res
  }

  const root = await signUp(app, 'root')
  await makeAdmin(app, root.id)
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })
  for (const a of [root, alice]) secrets.push(a.accessToken, a.refreshToken)

  await call('POST', '/v1/auth/login', undefined, { username: 'alice', password: keep('a wrong guess!') })
  await call('PATCH', `/v1/users/${alice.id}`, alice.auth, { displayName: 'Alice A.' })
  await call('PATCH', `/v1/users/${alice.id}`, alice.auth, { email: 'alice@new.example.com', currentPassword: PASSWORD })
  await call('POST', '/v1/auth/email/verify-request', alice.auth)
  await call('POST', '/v1/auth/email/verify', undefined, { token: keep(tokenOf((await inbox.nth(1)).link)) })
  await call('PATCH', `/v1/users/${alice.id}`, alice.auth, { password: keep('a second passphrase'), currentPassword: PASSWORD })
  await call('POST', '/v1/auth/password/forgot', undefined, { username: 'alice' })
  await app.background.settled()
  await call('POST', '/v1/auth/password/reset', undefined, { token: keep(tokenOf((await inbox.nth(2)).link)), password: keep('a third passphrase') })

  const s1 = await signIn(app, 'alice', 'a third passphrase')
  secrets.push(s1.accessToken, s1.refreshToken)
  const enroll = await call('POST', '/v1/auth/mfa/totp/enroll', s1.auth, { currentPassword: 'a third passphrase' })
  const secret = keep(enroll.json().secret as string)
  keep(enroll.json().otpauthUrl as string)
  const recoveryCodes: string[] = (await call('POST', '/v1/auth/mfa/totp/confirm', s1.auth, { code: keep(code(secret)) })).json().recoveryCodes
  secrets.push(...recoveryCodes)
  const mfaToken = keep((await call('POST', '/v1/auth/login', undefined, { username: 'alice', password: 'a third passphrase' })).json().mfaToken as string)
  await call('POST', '/v1/auth/login', undefined, { mfaToken, code: '000000' === code(secret, 1) ? '111111' : '000000' })
  const s2 = (await call('POST', '/v1/auth/login', undefined, { mfaToken, code: recoveryCodes[0] })).json()
  secrets.push(s2.accessToken, s2.refreshToken)
  await call('DELETE', '/v1/auth/mfa/totp', s1.auth, { currentPassword: 'a third passphrase', code: keep(code(secret, 1)) })

  const device = new SoftAuthenticator('chat.example.com', 'https://chat.example.com')
  const regOptions = (await call('POST', '/v1/auth/passkeys/register-options', s1.auth)).json()
  const passkey = (await call('POST', '/v1/auth/passkeys/register', s1.auth, { name: 'Phone', credential: device.create(regOptions) })).json().passkey
  const assertion = device.get((await call('POST', '/v1/auth/passkeys/login-options')).json())
  secrets.push(assertion.response.signature)
  const s3 = (await call('POST', '/v1/auth/passkeys/login', undefined, { credential: assertion })).json()
  secrets.push(s3.accessToken, s3.refreshToken)
  await call('PATCH', `/v1/auth/passkeys/${passkey.id as string}`, s1.auth, { name: 'Old phone' })
  await call('DELETE', `/v1/auth/passkeys/${passkey.id as string}`, s1.auth)

  const s4 = await signIn(app, 'alice', 'a third passphrase')
  secrets.push(s4.accessToken, s4.refreshToken)
  const sessions = (await call('GET', '/v1/auth/sessions', s1.auth)).json().items
  await call('DELETE', `/v1/auth/sessions/${sessions.find((s: { current: boolean }) => !s.current).id as string}`, s1.auth)
  await call('POST', '/v1/auth/logout', undefined, { refreshToken: s2.refreshToken })
  const rotated = (await call('POST', '/v1/auth/refresh', undefined, { refreshToken: s1.refreshToken })).json()
  secrets.push(rotated.accessToken, rotated.refreshToken)
  await new Promise((resolve) => setTimeout(resolve, 20))
  await call('POST', '/v1/auth/refresh', undefined, { refreshToken: s1.refreshToken })

  await call('PATCH', `/v1/users/${alice.id}`, root.auth, { role: 'admin' })
  await call('PATCH', `/v1/users/${alice.id}`, root.auth, { disabled: true })
  await call('PATCH', `/v1/users/${alice.id}`, root.auth, { disabled: false })
  await call('DELETE', `/v1/users/${alice.id}`, root.auth)

  const entries = (await call('GET', '/v1/admin/audit?limit=200', root.auth)).json().items
  const seen = new Set(entries.map((e: { action: string }) => e.action))
  for (const action of AuditAction.anyOf.map((l) => l.const)) t.ok(seen.has(action), `an entry for ${action}`)
  t.ok(entries.every((e: { ip: string | null, occurredAt: string }) => e.occurredAt !== '' && (e.ip === null || typeof e.ip === 'string')))
  t.match(entries[0], { action: 'user.deleted', actorId: root.id, userId: alice.id, details: { by: 'admin' } })
  t.match(entries.find((e: { action: string }) => e.action === 'password.reset'), { actorId: null, userId: alice.id, ip: '203.0.113.5' })
  t.match(entries.find((e: { action: string, details: { method?: string } }) => e.action === 'login.succeeded' && e.details.method === 'recovery_code'), { userId: alice.id })
  t.match(entries.find((e: { action: string, details: { method?: string } }) => e.action === 'login.succeeded' && e.details.method === 'passkey'), { userId: alice.id })

  // Everything stored, not only what the route shows.
  const raw = JSON.stringify(await app.authDb.selectFrom('audit_log').selectAll().execute())
  const hashes = await app.authDb.selectFrom('users').select('password_hash').execute()
  for (const s of [...secrets, ...hashes.map((h) => h.password_hash)]) {
    t.notOk(raw.includes(s), `no secret in the log (${s.slice(0, 6)}…)`)
    t.notOk(raw.includes(Buffer.from(s).toString('base64')), 'nor in base64')
  }
  t.notMatch(raw, /alice@(new\.)?example\.com/, 'nor the addresses themselves')
})
