import t from 'tap'
import { TOTP, Secret } from 'otpauth'
import type { InjectOptions } from 'fastify'
import { build, signUp, PASSWORD } from './helper.js'
import { mailReceiver } from '@metadome/testing/mail'
import { SoftAuthenticator } from './soft-authenticator.js'

// With SMTP configured, at LOG_LEVEL trace: no mailed token, mfaToken,
// TOTP secret or code, recovery code or passkey signature in any log line,
// and no response but enrolment's shows the TOTP secret.

t.test('the account routes log none of their secrets', async (t) => {
  const inbox = await mailReceiver(t)
  const { app, logs } = await build(t, { LOG_LEVEL: 'trace', SMTP_URL: inbox.url, PUBLIC_URL: 'https://chat.example.com' })
  const bodies: string[] = []
  const call = async (opts: InjectOptions) => {
    const res = await app.inject(opts)
    bodies.push(res.body)
    return res
  }
  const secrets: string[] = []
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })
  const tokenOf = (link: string): string => new URL(link).searchParams.get('token') ?? ''

  await call({ method: 'POST', url: '/v1/auth/email/verify-request', headers: alice.auth })
  secrets.push(tokenOf((await inbox.nth(1)).link))
  await call({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: secrets.at(-1) } })
  await call({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: 'alice@example.com' } })
  await app.background.settled()
  secrets.push(tokenOf((await inbox.nth(2)).link))
  await call({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: secrets.at(-1), password: 'a reset passphrase' } })

  const session = (await call({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'a reset passphrase' } })).json()
  const auth = { authorization: `Bearer ${session.accessToken as string}` }
  const { secret } = (await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/enroll', headers: auth, payload: { currentPassword: 'a reset passphrase' } })).json()
  const first = new TOTP({ secret: Secret.fromBase32(secret) }).generate()
  const recoveryCodes: string[] = (await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: auth, payload: { code: first } })).json().recoveryCodes
  const mfaToken = (await call({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'a reset passphrase' } })).json().mfaToken
  await call({ method: 'POST', url: '/v1/auth/login', payload: { mfaToken, code: recoveryCodes[0] } })
  secrets.push(secret, first, mfaToken, ...recoveryCodes)

  const device = new SoftAuthenticator('chat.example.com', 'https://chat.example.com')
  const options = (await call({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: auth })).json()
  await call({ method: 'POST', url: '/v1/auth/passkeys/register', headers: auth, payload: { credential: device.create(options) } })
  const assertion = device.get((await call({ method: 'POST', url: '/v1/auth/passkeys/login-options' })).json())
  await call({ method: 'POST', url: '/v1/auth/passkeys/login', payload: { credential: assertion } })
  secrets.push(assertion.response.signature)

  t.ok(logs.lines.length > 20, `${logs.lines.length} log lines captured`)
  const logText = logs.lines.join('\n')
  for (const s of secrets) t.notOk(logText.includes(s), `not logged: ${s.slice(0, 6)}…`)
  const responses = bodies.join('\n')
  for (const s of [secret, ...recoveryCodes]) t.notOk(responses.includes(s), 'shown by no other response')
  t.notMatch(logText + responses, /\$2[aby]\$\d\d\$/, 'no bcrypt hash')
  t.notOk(logText.includes(PASSWORD), 'nor a password')
})
