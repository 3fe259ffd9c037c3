import t from 'tap'
import { TOTP, Secret } from 'otpauth'
import { build, signUp, PASSWORD } from '../helper.js'
import { mailReceiver } from '@metadome/testing/mail'
import { SoftAuthenticator } from '../soft-authenticator.js'

// Whoever holds a one-time secret (a mailed link, a TOTP code seen over a
// shoulder, an intercepted passkey assertion) and sends it many times at
// once gets one use of it, not one per request in flight.

const AT_ONCE = 8
const statuses = (codes: number[]): Record<number, number> => codes.reduce<Record<number, number>>((n, c) => ({ ...n, [c]: (n[c] ?? 0) + 1 }), {})

t.test('a reset link sent many times at once sets one password', async (t) => {
  const inbox = await mailReceiver(t)
  const { app } = await build(t, { SMTP_URL: inbox.url })
  await signUp(app, 'alice', { email: 'alice@example.com' })
  await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username: 'alice' } })
  const token = new URL((await inbox.nth(1)).link).searchParams.get('token') ?? ''
  const answers = await Promise.all(Array.from({ length: AT_ONCE }, async (_, i) =>
    await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: `passphrase number ${i}` } })))
  t.same(statuses(answers.map((a) => a.statusCode)), { 204: 1, 400: AT_ONCE - 1 })
})

t.test('a TOTP code sent many times at once signs in once', async (t) => {
  const { app } = await build(t)
  const bob = await signUp(app, 'bob')
  const { secret } = (await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/enroll', headers: bob.auth, payload: { currentPassword: PASSWORD } })).json()
  const totp = new TOTP({ secret: Secret.fromBase32(secret) })
  await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bob.auth, payload: { code: totp.generate() } })
  const code = totp.generate({ timestamp: Date.now() + 30_000 })
  // The first steps one after the other: password attempts in flight at once
  // are each charged as a failure until their compare ends, so eight at
  // once from one address get 429 past the fifth (what is raced here is the code).
  const tokens: string[] = []
  for (let i = 0; i < AT_ONCE; i++) {
    const first = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'bob', password: PASSWORD } })
    t.equal(first.json().error?.code, 'mfa_required')
    tokens.push(first.json().mfaToken as string)
  }
  const answers = await Promise.all(tokens.map(async (mfaToken) => await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { mfaToken, code } })))
  const seen = statuses(answers.map((a) => a.statusCode))
  t.equal(seen[200], 1, 'one sign-in')
  // The others are refused: as a spent code (401), or, past five failures
  // from this address, unchecked (429), depending on the order they ran in.
  t.equal((seen[401] ?? 0) + (seen[429] ?? 0), AT_ONCE - 1, JSON.stringify(seen))
})

t.test('a passkey assertion sent many times at once signs in once', async (t) => {
  const { app } = await build(t, { PUBLIC_URL: 'https://chat.example.com' })
  const carol = await signUp(app, 'carol')
  const device = new SoftAuthenticator('chat.example.com', 'https://chat.example.com')
  const options = (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: carol.auth })).json()
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register', headers: carol.auth, payload: { credential: device.create(options) } })).statusCode, 201)
  const assertion = device.get((await app.inject({ method: 'POST', url: '/v1/auth/passkeys/login-options' })).json())
  const answers = await Promise.all(Array.from({ length: AT_ONCE }, async () =>
    await app.inject({ method: 'POST', url: '/v1/auth/passkeys/login', payload: { credential: assertion } })))
  t.same(statuses(answers.map((a) => a.statusCode)), { 200: 1, 401: AT_ONCE - 1 })
})
