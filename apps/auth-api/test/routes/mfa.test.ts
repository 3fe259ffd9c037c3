import t from 'tap'
import { TOTP, Secret } from 'otpauth'
import type { FastifyInstance } from 'fastify'
import { build, signUp, PASSWORD, type Account } from '../helper.js'

// TOTP (DESIGN.md "Accounts"), with codes computed here from the secret, as
// an authenticator app does.

/** The code of the step `offset` steps from now (±1 is accepted; each step once). */
const codeAt = (secret: string, offset = 0): string =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + offset * 30_000 })

/** A code of no step anywhere near now. */
const wrongCode = (secret: string): string => {
  const near = new Set([-2, -1, 0, 1, 2].map((o) => codeAt(secret, o)))
  for (let i = 0; ; i++) {
    const c = String(i).padStart(6, '0')
    if (!near.has(c)) return c
  }
}

/** Enrols and confirms TOTP for `who` with the code of the current step; the secret and the recovery codes. */
async function enable (app: FastifyInstance, who: Account): Promise<{ secret: string, recoveryCodes: string[] }> {
  const enroll = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/enroll', headers: who.auth, payload: { currentPassword: PASSWORD } })
  const { secret } = enroll.json()
  const confirm = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: who.auth, payload: { code: codeAt(secret) } })
  return { secret, recoveryCodes: confirm.json().recoveryCodes }
}

t.test('TOTP: enrol with the password, confirm with a code, then sign-in asks for one', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const enroll = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/enroll', headers: alice.auth, payload })
  const login = (payload: Record<string, unknown>, remoteAddress = '127.0.0.1') => app.inject({ method: 'POST', url: '/v1/auth/login', payload, remoteAddress })

  t.equal((await enroll({})).statusCode, 400, 'currentPassword is required')
  t.equal((await enroll({ currentPassword: 'not the password' })).json().error.code, 'wrong_current_password')
  const res = await enroll({ currentPassword: PASSWORD })
  t.equal(res.statusCode, 200)
  const { secret, otpauthUrl } = res.json()
  t.match(secret, /^[A-Z2-7]{32}$/)
  t.match(otpauthUrl, /^otpauth:\/\/totp\/metadome:alice\?/)
  t.equal(new URL(otpauthUrl).searchParams.get('secret'), secret)
  t.equal((await login({ username: 'alice', password: PASSWORD })).statusCode, 200, 'not asked before it is confirmed')

  const confirm = (code: string) => app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: alice.auth, payload: { code } })
  t.equal((await confirm(wrongCode(secret))).json().error.code, 'wrong_mfa_code')
  t.equal((await confirm('12345')).statusCode, 400)
  const confirmed = await confirm(codeAt(secret))
  t.equal(confirmed.statusCode, 200)
  const { recoveryCodes } = confirmed.json()
  t.equal(recoveryCodes.length, 10)
  t.equal(new Set(recoveryCodes).size, 10)
  for (const c of recoveryCodes) t.match(c, /^[a-z0-9]{5}-[a-z0-9]{5}$/)
  t.equal((await enroll({ currentPassword: PASSWORD })).json().error.code, 'mfa_already_enabled')
  const stored = await app.authDb.selectFrom('recovery_codes').select('code_hash').execute()
  t.equal(stored.length, 10)
  t.notMatch(JSON.stringify(stored), recoveryCodes[0] ?? '', 'only hashes are kept')
  t.match((await app.inject({ url: '/v1/users/me', headers: alice.auth })).json().user, { mfa: { totp: true } })

  const first = await login({ username: 'alice', password: PASSWORD })
  t.equal(first.statusCode, 401)
  t.equal(first.json().error.code, 'mfa_required')
  const mfaToken: string = first.json().mfaToken
  t.match(mfaToken, /^[A-Za-z0-9_-]{43}$/)
  t.notOk('accessToken' in first.json())
  t.equal((await login({ username: 'alice', password: 'not the password' })).json().error.code, 'invalid_credentials', 'a wrong password says nothing of MFA')

  t.equal((await login({ mfaToken, code: wrongCode(secret) })).json().error.code, 'invalid_mfa_code', 'a wrong code is refused')
  t.equal((await login({ mfaToken, code: codeAt(secret) })).json().error.code, 'invalid_mfa_code', 'the code that confirmed cannot be used again')
  const next = codeAt(secret, 1)
  const ok = await login({ mfaToken, code: next })
  t.equal(ok.statusCode, 200, 'the right code signs in')
  t.match(ok.json(), { tokenType: 'Bearer', user: { username: 'alice' } })
  t.equal((await login({ mfaToken, code: next })).json().error.code, 'invalid_mfa_token', 'the mfaToken is spent')

  const again = (await login({ username: 'alice', password: PASSWORD })).json().mfaToken
  t.equal((await login({ mfaToken: again, code: next })).json().error.code, 'invalid_mfa_code', 'a code cannot be used twice')

  const recovery = recoveryCodes[3] as string
  const byRecovery = await login({ mfaToken: again, code: recovery.toUpperCase().replace('-', '') })
  t.equal(byRecovery.statusCode, 200, 'a recovery code works, in any case, without its dash')
  const third = (await login({ username: 'alice', password: PASSWORD })).json().mfaToken
  t.equal((await login({ mfaToken: third, code: recovery })).json().error.code, 'invalid_mfa_code', 'once')
  t.equal((await app.authDb.selectFrom('recovery_codes').select('code_hash').execute()).length, 9)

  t.test('wrong codes are throttled like passwords, per account and address', async (t) => {
    const attacker = '198.51.100.23'
    const token = (await login({ username: 'alice', password: PASSWORD }, attacker)).json().mfaToken
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push((await login({ mfaToken: token, code: wrongCode(secret) }, attacker)).statusCode)
    t.same(statuses, [401, 401, 401, 401, 401, 429])
    const held = await login({ mfaToken: token, code: codeAt(secret, 1) }, attacker)
    t.equal(held.json().error.code, 'too_many_attempts', 'even a right code waits')
    t.ok(Number(held.headers['retry-after']) >= 1)
  })

  t.test('an expired mfaToken, or one never given, is refused; bodies are checked', async (t) => {
    const token = (await login({ username: 'alice', password: PASSWORD })).json().mfaToken
    await app.authDb.updateTable('account_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('purpose', '=', 'mfa_login').execute()
    t.equal((await login({ mfaToken: token, code: codeAt(secret, 1) })).json().error.code, 'invalid_mfa_token')
    t.equal((await login({ mfaToken: 'A'.repeat(43), code: '123456' })).json().error.code, 'invalid_mfa_token')
    for (const payload of [{ mfaToken: token }, { mfaToken: token, code: '12' }, { mfaToken: token, code: '123456', username: 'alice' }, { username: 'alice', password: PASSWORD, code: '123456' }]) {
      t.equal((await login(payload)).statusCode, 400, JSON.stringify(payload))
    }
  })
})

t.test('turning TOTP off takes the password and a code', async (t) => {
  const { app } = await build(t)
  const bob = await signUp(app, 'bob')
  const { secret } = await enable(app, bob)
  const disable = (payload: Record<string, unknown>) => app.inject({ method: 'DELETE', url: '/v1/auth/mfa/totp', headers: bob.auth, payload })

  t.equal((await disable({ currentPassword: PASSWORD })).statusCode, 400, 'no code')
  t.equal((await disable({ code: codeAt(secret, 1) })).statusCode, 400, 'no password')
  t.equal((await disable({ currentPassword: 'not the password', code: codeAt(secret, 1) })).json().error.code, 'wrong_current_password')
  t.equal((await disable({ currentPassword: PASSWORD, code: wrongCode(secret) })).json().error.code, 'wrong_mfa_code')
  t.equal((await disable({ currentPassword: PASSWORD, code: codeAt(secret, 1) })).statusCode, 204)
  t.equal((await app.authDb.selectFrom('recovery_codes').select('code_hash').execute()).length, 0, 'the recovery codes are gone')
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'bob', password: PASSWORD } })
  t.equal(login.statusCode, 200, 'the password alone signs in again')
  t.equal((await disable({ currentPassword: PASSWORD, code: codeAt(secret, 1) })).json().error.code, 'mfa_not_enabled')
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bob.auth, payload: { code: '123456' } })).json().error.code, 'mfa_not_enabled', 'nothing to confirm')
})

t.test('the ±1 step window: the previous and next steps sign in; two steps back or ahead, or a used step, do not', async (t) => {
  // The app runs in this process: its clock (Date.now, which services/totp.ts
  // reads) is set here to the middle of a step, so no step boundary can fall
  // between computing a code and checking it.
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  const base = Math.floor(realNow() / 30_000)
  const setStep = (step: number): void => { Date.now = () => step * 30_000 + 15_000 }
  const codeOf = (secret: string, step: number): string =>
    new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: step * 30_000 + 15_000 })

  setStep(base)
  const { app } = await build(t)
  const dave = await signUp(app, 'dave')
  const { secret } = await enable(app, dave)
  const signInWith = async (code: string) => {
    const mfaToken = (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'dave', password: PASSWORD } })).json().mfaToken
    return await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { mfaToken, code } })
  }
  const refused = async (code: string, why: string) => {
    const res = await signInWith(code)
    t.equal(res.statusCode, 401, why)
    t.equal(res.json().error.code, 'invalid_mfa_code', why)
  }

  setStep(base + 2)
  t.equal((await signInWith(codeOf(secret, base + 1))).statusCode, 200, 'the previous step')
  t.equal((await signInWith(codeOf(secret, base + 3))).statusCode, 200, 'the next step')
  await refused(codeOf(secret, base + 3), 'the step just used, again')

  // Every step tried below is later than the last one used, so only the window refuses them.
  setStep(base + 6)
  await refused(codeOf(secret, base + 4), 'two steps back')
  await refused(codeOf(secret, base + 8), 'two steps ahead')
  t.equal((await signInWith(codeOf(secret, base + 6))).statusCode, 200, 'the current step, after three wrong codes (not throttled yet)')
  t.equal((await app.authDb.selectFrom('users').select('totp_last_step').where('id', '=', dave.id).executeTakeFirstOrThrow()).totp_last_step, base + 6, 'the last step used is kept')
})
