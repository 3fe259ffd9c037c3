import t from 'tap'
import { sql } from 'kysely'
import type { Teardown } from '@metadome/testing'
import { build, makeAdmin, signIn, signUp, PASSWORD, type TestApp } from '../helper.js'
import { mailReceiver, type MailReceiver } from '@metadome/testing/mail'

// Mailed links, through a real SMTP server: email verification and password
// recovery (DESIGN.md "Accounts").

const tokenOf = (link: string): string => new URL(link).searchParams.get('token') ?? ''

async function setUp (t: Teardown): Promise<TestApp & { inbox: MailReceiver }> {
  const inbox = await mailReceiver(t)
  const test = await build(t, { SMTP_URL: inbox.url, MAIL_FROM: 'metadome <no-reply@metadome.test>', PUBLIC_URL: 'https://chat.example.com/' })
  return { ...test, inbox }
}

t.test('email verification: the mailed link proves the address, once', async (t) => {
  const { app, inbox } = await setUp(t)
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })
  const me = async () => (await app.inject({ url: '/v1/users/me', headers: alice.auth })).json().user
  t.equal((await me()).emailVerified, false)

  const res = await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request', headers: alice.auth })
  t.equal(res.statusCode, 202)
  const mail = await inbox.nth(1)
  t.same(mail.to, ['alice@example.com'])
  t.match(mail.subject, /confirm your email/i)
  t.match(mail.link, /^https:\/\/chat\.example\.com\/verify-email\?token=[A-Za-z0-9_-]{43}$/)

  const verify = async (token: string) => await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token } })
  t.equal((await verify(tokenOf(mail.link))).statusCode, 204)
  t.equal((await me()).emailVerified, true)
  const again = await verify(tokenOf(mail.link))
  t.equal(again.statusCode, 400)
  t.equal(again.json().error.code, 'invalid_token', 'a spent link fails')

  t.test('a newer link replaces the older; a new address is unproven and old links prove nothing for it', async (t) => {
    await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request', headers: alice.auth })
    const older = await inbox.nth(2)
    await app.inject({ method: 'PATCH', url: `/v1/users/${alice.id}`, headers: alice.auth, payload: { email: 'alice@new.example.com', currentPassword: PASSWORD } })
    t.equal((await me()).emailVerified, false)
    t.equal((await verify(tokenOf(older.link))).json().error.code, 'invalid_token', 'the link for the old address')

    await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request', headers: alice.auth })
    const first = await inbox.nth(3)
    await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request', headers: alice.auth })
    const second = await inbox.nth(4)
    t.same(second.to, ['alice@new.example.com'])
    t.equal((await verify(tokenOf(first.link))).json().error.code, 'invalid_token', 'replaced by the newer one')
    t.equal((await verify(tokenOf(second.link))).statusCode, 204)
    t.equal((await me()).emailVerified, true)
  })

  t.test('400 no_email without an address; 401 signed out; 400 for a malformed token', async (t) => {
    const bob = await signUp(app, 'bob')
    const res = await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request', headers: bob.auth })
    t.equal(res.json().error.code, 'no_email')
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify-request' })).statusCode, 401)
    t.equal((await verify('short')).statusCode, 400)
    t.equal((await verify('A'.repeat(43))).json().error.code, 'invalid_token')
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: 'A'.repeat(43), more: 1 } })).statusCode, 400)
  })
})

t.test('password recovery: a mailed link sets a new password once and ends every session', async (t) => {
  const { app, inbox } = await setUp(t)
  const carol = await signUp(app, 'carol', { email: 'carol@example.com' })
  const laptop = await signIn(app, 'carol')
  const forgot = async (payload: Record<string, unknown>) => await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload })
  const reset = async (token: string, password: string) => await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password } })

  // Forgot for an unknown user or address answers the same and sends nothing.
  const known = await forgot({ username: 'carol' })
  const unknown = await forgot({ username: 'nobody' })
  const unknownEmail = await forgot({ email: 'nobody@example.com' })
  for (const res of [known, unknown, unknownEmail]) {
    t.equal(res.statusCode, 202)
    t.equal(res.body, '{}')
  }
  t.same(Object.keys(unknown.headers).sort(), Object.keys(known.headers).sort(), 'the same headers')
  await app.background.settled()
  const first = await inbox.nth(1)
  t.equal(inbox.mails.length, 1, 'one mail, to carol')
  t.same(first.to, ['carol@example.com'])
  t.match(first.subject, /reset your metadome password/i)

  await forgot({ email: 'CAROL@example.com' })
  const second = await inbox.nth(2)
  t.match(second.link, /^https:\/\/chat\.example\.com\/reset-password\?token=[A-Za-z0-9_-]{43}$/)
  t.equal((await reset(tokenOf(first.link), 'a newer passphrase')).json().error.code, 'invalid_token', 'an older link, replaced, fails')
  t.equal((await reset(tokenOf(second.link), 'password1')).json().error.code, 'weak_password', 'the password rules hold')

  const res = await reset(tokenOf(second.link), 'a newer passphrase')
  t.equal(res.statusCode, 204)
  for (const s of [carol, laptop]) {
    t.equal((await app.inject({ url: '/v1/users/me', headers: s.auth })).statusCode, 401, 'every session ended')
  }
  const revoked = await app.authDb.selectFrom('outbox').select('payload').where('type', '=', 'sessions_revoked').execute()
  t.equal(revoked.flatMap((r) => r.payload.sessionIds ?? []).length, 2, 'the gateways are told, as for a password change')
  t.equal((await reset(tokenOf(second.link), 'yet another passphrase')).json().error.code, 'invalid_token', 'a spent link fails')
  await t.rejects(signIn(app, 'carol', PASSWORD), 'the old password is gone')
  const now = await signIn(app, 'carol', 'a newer passphrase')
  t.equal((await app.inject({ url: '/v1/users/me', headers: now.auth })).json().user.emailVerified, true, 'the mailbox is proven too')

  t.test('an expired link fails', async (t) => {
    await forgot({ username: 'carol' })
    const mail = await inbox.nth(3)
    await app.authDb.updateTable('account_tokens').set({ expires_at: new Date(Date.now() - 1000) }).execute()
    t.equal((await reset(tokenOf(mail.link), 'an expired passphrase')).json().error.code, 'invalid_token')
  })

  t.test('400 for bodies that are not one of the two shapes', async (t) => {
    for (const payload of [{}, { username: 'carol', email: 'carol@example.com' }, { username: '' }, { email: 'not an address' }]) {
      t.equal((await forgot(payload)).statusCode, 400, JSON.stringify(payload))
    }
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: 'A'.repeat(43) } })).statusCode, 400)
  })
})

t.test('with SMTP_URL unset and MAIL_TO_LOG=true (npm start), the mail and its link go to the log', async (t) => {
  const { app, logs } = await build(t, { MAIL_TO_LOG: 'true' })
  await signUp(app, 'dave', { email: 'dave@example.com' })
  await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username: 'dave' } })
  await app.background.settled()
  const line = logs.entries().find((l) => typeof l.msg === 'string' && l.msg.includes('/reset-password?token='))
  t.ok(line, 'a log line with the link')
  t.match(line?.msg, /^mail \(not sent: SMTP_URL is unset\)[\s\S]*http:\/\/localhost:3003\/reset-password\?token=/)
})

t.test('with SMTP_URL unset otherwise, a deployment that forgot it logs no reset link', async (t) => {
  const { app, logs } = await build(t)
  await signUp(app, 'erin', { email: 'erin@example.com' })
  const res = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username: 'erin' } })
  t.equal(res.statusCode, 202, 'forgot answers as always')
  await app.background.settled()
  t.notOk(logs.lines.some((l) => l.includes('token=')), 'no link, no token in any log line')
  t.ok(logs.entries().some((l) => l.msg === 'mail not sent: SMTP_URL is unset'), 'but a warning that a mail was dropped')
})

// "forgot takes the same time whether the account exists": by construction,
// the answer is sent before the account is even looked up. Shown without a
// stopwatch: with auth.users locked by another transaction, a route that
// looked the account up first could not answer at all; this one answers
// both at once, and the mail follows once the lock is gone.
t.test('forgot answers before it looks the account up: with the users table locked, a known and an unknown user both get 202', async (t) => {
  const { app, inbox } = await setUp(t)
  await signUp(app, 'frank', { email: 'frank@example.com' })
  const forgot = async (username: string) => await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username } })
  await app.authDb.connection().execute(async (conn) => {
    await sql`begin`.execute(conn)
    await sql`lock table auth.users in access exclusive mode`.execute(conn)
    const stuck = Symbol('stuck')
    const answers = await Promise.race([
      Promise.all([forgot('frank'), forgot('nobody')]),
      new Promise<typeof stuck>((resolve) => setTimeout(() => resolve(stuck), 5_000))
    ])
    t.not(answers, stuck, 'both answered while the account could not be read')
    if (answers !== stuck) {
      t.same(answers.map((r) => r.statusCode), [202, 202])
      t.equal(answers[0].body, answers[1].body, 'the same body')
    }
    t.equal(inbox.mails.length, 0, 'no mail yet: the lookup waits for the lock')
    await sql`rollback`.execute(conn)
  })
  await app.background.settled()
  t.same((await inbox.nth(1)).to, ['frank@example.com'], 'then frank\'s mail goes out, and only his')
  t.equal(inbox.mails.length, 1)
})

t.test('a link mailed before an admin disabled the account sets no password while it is disabled', async (t) => {
  // The attack: whoever took over the mailbox asked for a link; the admin
  // disables the account; the link must not give them a password that works
  // once the account is enabled again.
  const { app, inbox } = await setUp(t)
  const root = await signUp(app, 'root')
  await makeAdmin(app, root.id)
  const admin = await signIn(app, 'root')
  const dave = await signUp(app, 'dave', { email: 'dave@example.com' })
  await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username: 'dave' } })
  const token = tokenOf((await inbox.nth(1)).link)
  const patch = async (disabled: boolean) => await app.inject({ method: 'PATCH', url: `/v1/users/${dave.id}`, headers: admin.auth, payload: { disabled } })
  t.equal((await patch(true)).statusCode, 200)

  const res = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'the taker\'s passphrase' } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().error.code, 'account_disabled')
  t.equal((await patch(false)).statusCode, 200)
  await t.rejects(signIn(app, 'dave', 'the taker\'s passphrase'), 'the link set nothing')
  t.ok(await signIn(app, 'dave', PASSWORD), 'the owner\'s password still works')
})
