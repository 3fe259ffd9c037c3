import t from 'tap'
import { sql } from 'kysely'
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

// An audited change and its entry are written in one transaction
// (services/users.ts): both are stored or neither. Failures are forced with
// triggers in this test's own database: one refuses the audit entry, the
// other (deferred to commit, so it fires after the entry was written)
// refuses the change itself.
t.test('a change and its audit entry are stored together or not at all', async (t) => {
  const { app } = await build(t)
  const erin = await signUp(app, 'erin', { email: 'erin@example.com' })
  const entries = async (action: AuditAction) => await app.authDb.selectFrom('audit_log').select('id').where('action', '=', action).where('user_id', '=', erin.id).execute()
  const email = async () => (await app.authDb.selectFrom('users').select('email').where('id', '=', erin.id).executeTakeFirstOrThrow()).email
  const patch = async (payload: Record<string, unknown>) => await app.inject({ method: 'PATCH', url: `/v1/users/${erin.id}`, headers: erin.auth, payload })

  t.test('an audit entry that cannot be written undoes the change', async (t) => {
    await sql`CREATE FUNCTION auth.refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.action IN ('password.changed', 'email.changed') THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`.execute(app.authDb)
    await sql`CREATE TRIGGER refuse_audit BEFORE INSERT ON auth.audit_log FOR EACH ROW EXECUTE FUNCTION auth.refuse_audit()`.execute(app.authDb)
    t.teardown(async () => { await sql`DROP TRIGGER refuse_audit ON auth.audit_log; DROP FUNCTION auth.refuse_audit()`.execute(app.authDb) })

    const password = await patch({ password: 'a brand new passphrase', currentPassword: PASSWORD })
    t.equal(password.statusCode, 500)
    t.notMatch(password.body, /audit refused/, 'the cause is not shown')
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'erin', password: 'a brand new passphrase' } })).statusCode, 401, 'the new password was not stored')
    await signIn(app, 'erin')
    t.equal((await app.inject({ url: '/v1/users/me', headers: erin.auth })).statusCode, 200, 'sessions were not ended')

    t.equal((await patch({ email: 'erin@new.example.com', currentPassword: PASSWORD })).statusCode, 500)
    t.equal(await email(), 'erin@example.com', 'the new address was not stored')
    t.same(await entries('password.changed'), [])
    t.same(await entries('email.changed'), [])
  })

  t.test('a change that fails at commit takes its already written audit entry with it', async (t) => {
    await sql`CREATE FUNCTION auth.refuse_email() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.email = 'erin@refused.example.com' THEN RAISE EXCEPTION 'email refused by the test'; END IF; RETURN NEW; END $$`.execute(app.authDb)
    await sql`CREATE CONSTRAINT TRIGGER refuse_email AFTER UPDATE ON auth.users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth.refuse_email()`.execute(app.authDb)
    t.teardown(async () => { await sql`DROP TRIGGER refuse_email ON auth.users; DROP FUNCTION auth.refuse_email()`.execute(app.authDb) })

    t.equal((await patch({ email: 'erin@refused.example.com', currentPassword: PASSWORD })).statusCode, 500)
    t.equal(await email(), 'erin@example.com', 'the address was not changed')
    t.same(await entries('email.changed'), [], 'nor is its entry, though it was inserted before the commit failed')

    t.equal((await patch({ email: 'erin@fine.example.com', currentPassword: PASSWORD })).statusCode, 200, 'other changes go through')
    t.equal(await email(), 'erin@fine.example.com')
    t.equal((await entries('email.changed')).length, 1, 'with their entry')
  })
})
