import t from 'tap'
import { createHash } from 'node:crypto'
import { TOTP, Secret } from 'otpauth'
import { build, signUp, PASSWORD } from '../helper.js'
import { mailReceiver } from '@metadome/testing/mail'

// One-time tokens (mailed links, the mfaToken of a two-step sign-in) are
// stored as their SHA-256 only (db/account-token.repository.ts): a read of
// auth.account_tokens gives nothing that can be presented.

const tokenOf = (link: string): string => new URL(link).searchParams.get('token') ?? ''
const sha256 = (token: string): Buffer => createHash('sha256').update(token).digest()

t.test('mailed tokens and the mfaToken are stored as their SHA-256, never as given out', async (t) => {
  const inbox = await mailReceiver(t)
  const { app } = await build(t, { SMTP_URL: inbox.url, PUBLIC_URL: 'https://chat.example.com' })
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })

  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request', headers: alice.auth })).statusCode, 202)
  const verifyToken = tokenOf((await inbox.nth(1)).link)
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username: 'alice' } })).statusCode, 202)
  await app.background.settled()
  const resetToken = tokenOf((await inbox.nth(2)).link)

  const { secret } = (await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/enroll', headers: alice.auth, payload: { currentPassword: PASSWORD } })).json()
  const confirm = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: alice.auth, payload: { code: new TOTP({ secret: Secret.fromBase32(secret) }).generate() } })
  t.equal(confirm.statusCode, 200)
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  const mfaToken: string = login.json().mfaToken
  t.type(mfaToken, 'string')

  const rows = await app.authDb.selectFrom('account_tokens').select(['token_hash', 'purpose']).execute()
  t.same(rows.map((r) => r.purpose).sort(), ['mfa_login', 'reset_password', 'verify_email'].sort(), 'one row per live token')
  for (const [purpose, token] of [['verify_email', verifyToken], ['reset_password', resetToken], ['mfa_login', mfaToken]] as const) {
    t.match(token, /^[A-Za-z0-9_-]{43}$/, `${purpose}: a 256-bit token`)
    const row = rows.find((r) => r.purpose === purpose)
    t.ok(row, `${purpose}: stored`)
    const stored = Buffer.from(row?.token_hash ?? [])
    t.ok(stored.equals(sha256(token)), `${purpose}: the SHA-256 of the token is stored`)
    t.notOk(stored.equals(Buffer.from(token)), `${purpose}: not the token's text`)
    t.notOk(stored.equals(Buffer.from(token, 'base64url')), `${purpose}: not the token's bytes`)
    t.notOk(stored.includes(Buffer.from(token)), `${purpose}: the text appears nowhere in the stored value`)
    t.notOk(stored.toString('hex').includes(Buffer.from(token, 'base64url').toString('hex')), `${purpose}: nor its bytes`)
  }
  // No column of any row holds any of the tokens (email etc.).
  const all = JSON.stringify(await app.authDb.selectFrom('account_tokens').selectAll().execute())
  for (const token of [verifyToken, resetToken, mfaToken]) t.notOk(all.includes(token), 'no column carries the token')
})
