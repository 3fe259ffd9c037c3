import t from 'tap'
import { randomBytes } from 'node:crypto'
import { TOTP, Secret } from 'otpauth'
import { until } from '@metadome/testing'
import { startStack, signIn } from '@metadome/e2e'
import { cliEnv, newHome, run, start, watch } from './helpers/cli.js'

// The account commands, spawned as a user runs them: mfa enable|disable,
// login with a code, password forgot|reset, sessions.

t.setTimeout(150_000)
// No SMTP server: auth-api writes mails to its log, as under npm start.
const stack = await startStack(t, { gateways: 1, authEnv: { MAIL_TO_LOG: 'true' } })
const PASSWORD = 'correct horse battery staple'
const codeAt = (secret: string, offset = 0): string =>
  new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset * 30_000 })

t.test('two-factor sign-in from the terminal: enable, log in with a code or a recovery code, disable', async (t) => {
  const username = `alice${randomBytes(4).toString('hex')}`
  const env = cliEnv(stack, await newHome(t), { METADOME_PASSWORD: PASSWORD })
  t.equal((await run(env, ['register', username])).code, 0)

  const enable = start(env, ['mfa', 'enable'])
  const screen = watch(enable)
  await screen.waitFor('otpauth://totp/')
  const secret = /secret: ([A-Z2-7]+)/.exec(screen.out())?.[1] ?? ''
  t.match(screen.out(), /otpauth:\/\/totp\//)
  enable.stdin.end(`${codeAt(secret)}\n`)
  const code = await new Promise<number | null>((resolve) => enable.on('close', resolve))
  t.equal(code, 0, screen.out())
  const recovery = screen.out().match(/^ {2}[a-z0-9]{5}-[a-z0-9]{5}$/gm)?.map((c) => c.trim()) ?? []
  t.equal(recovery.length, 10, 'ten recovery codes, shown once')

  t.equal((await run(env, ['logout'])).code, 0)
  const wrong = await run(env, ['login', username], '000000\n')
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /code is wrong/)
  const login = await run(env, ['login', username], `${codeAt(secret, 1)}\n`)
  t.equal(login.code, 0, login.stderr)
  t.match(login.stdout, `signed in as ${username}`)
  const byRecovery = await run(env, ['login', username, '--code', recovery[0] ?? ''])
  t.equal(byRecovery.code, 0, byRecovery.stderr)

  const sessions = await run(env, ['sessions'])
  t.equal(sessions.code, 0, sessions.stderr)
  t.equal(sessions.stdout.trim().split('\n').length, 2, 'the two sign-ins still open')
  t.match(sessions.stdout, /\(this device\)/)
  const other = /^([0-9a-f-]{36}) .*$/m.exec(sessions.stdout.split('\n').find((l) => !l.includes('(this device)')) ?? '')?.[1] ?? ''
  t.equal((await run(env, ['sessions', 'revoke', other])).code, 0)
  t.equal((await run(env, ['sessions'])).stdout.trim().split('\n').length, 1, 'one left')

  const disable = await run(env, ['mfa', 'disable'], `${recovery[0] ?? ''}\n`)
  t.equal(disable.code, 1, 'the recovery code that signed in cannot be used again')
  const off = await run(env, ['mfa', 'disable', '--code', recovery[1] ?? ''])
  t.equal(off.code, 0, off.stderr)
  t.match(off.stdout, /two-factor sign-in is off/)
  t.equal((await run(env, ['login', username])).code, 0, 'the password alone signs in again')
})

t.test('password recovery from the terminal: forgot mails a link (here: to auth-api\'s log), reset takes it once', async (t) => {
  const username = `bob${randomBytes(4).toString('hex')}`
  const env = cliEnv(stack, await newHome(t), { METADOME_PASSWORD: PASSWORD })
  t.equal((await run(env, ['register', username])).code, 0)
  const bob = await signIn(stack.auth, username)
  await stack.auth.inject({ method: 'PATCH', url: `/v1/users/${bob.id}`, headers: bob.auth, payload: { email: `${username}@example.com`, currentPassword: PASSWORD } })

  const forgot = await run(env, ['password', 'forgot', username])
  t.equal(forgot.code, 0, forgot.stderr)
  t.match(forgot.stdout, /reset link is on its way/)
  const logs = stack.apps.find((a) => a.name === 'auth-api')?.logs
  const link = await until(() => logs?.entries().map((e) => /https?:\/\/\S+reset-password\?token=\S+/.exec(String(e.msg))?.[0]).find((l) => l !== undefined), 10_000, 'the mail in the log')

  const newPassword = 'a fresh passphrase for bob'
  const reset = await run({ ...env, METADOME_PASSWORD: newPassword }, ['password', 'reset', link])
  t.equal(reset.code, 0, reset.stderr)
  t.equal((await run({ ...env, METADOME_PASSWORD: newPassword }, ['password', 'reset', link])).code, 1, 'the link works once')
  t.equal((await run(env, ['login', username])).code, 1, 'the old password is gone')
  t.equal((await run({ ...env, METADOME_PASSWORD: newPassword }, ['login', username])).code, 0)
  t.equal((await run(env, ['password', 'forgot', 'nobody-at-all'])).stdout, forgot.stdout, 'the same answer for an unknown account')
})

t.test('login --new-keys on a new device of an account with TOTP on takes the code too', async (t) => {
  const username = `carol${randomBytes(4).toString('hex')}`
  const first = cliEnv(stack, await newHome(t), { METADOME_PASSWORD: PASSWORD })
  t.equal((await run(first, ['register', username])).code, 0, 'the first device publishes the account key')
  const carol = await signIn(stack.auth, username)
  const enroll = await stack.auth.inject({ method: 'POST', url: '/v1/auth/mfa/totp/enroll', headers: carol.auth, payload: { currentPassword: PASSWORD } })
  const { secret } = enroll.json<{ secret: string }>()
  const confirm = await stack.auth.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: carol.auth, payload: { code: codeAt(secret) } })
  const [recovery] = confirm.json<{ recoveryCodes: string[] }>().recoveryCodes

  const accountKey = async (): Promise<string> =>
    (await stack.auth.inject({ method: 'GET', url: `/v1/users/${carol.id}/keys`, headers: carol.auth })).json<{ accountKey: string }>().accountKey
  const before = await accountKey()

  const second = cliEnv(stack, await newHome(t), { METADOME_PASSWORD: PASSWORD })
  // A recovery code here: confirm spent this TOTP step, and the next one is for the sign-in that works.
  const plain = await run(second, ['login', username, '--code', recovery ?? ''])
  t.equal(plain.code, 1, 'the keys are on the first device')
  t.match(plain.stderr, /--new-keys/)
  const noCode = await run(second, ['login', username, '--new-keys'], '')
  t.equal(noCode.code, 2, 'no code given: asked for one')
  t.match(noCode.stderr, /no code/)
  const wrongCode = ['000000', '111111', '222222'].find((c) => ![-1, 0, 1].map((o) => codeAt(secret, o)).includes(c)) ?? '333333'
  const wrong = await run(second, ['login', username, '--new-keys', '--code', wrongCode])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /code is wrong/)
  const login = await run(second, ['login', username, '--new-keys', '--code', codeAt(secret, 1)])
  t.equal(login.code, 0, login.stderr)
  t.match(login.stdout, `signed in as ${username}`)
  t.not(await accountKey(), before, 'a new account key is published')
})
