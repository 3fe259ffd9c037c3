import t from 'tap'
import { build, signUp, PASSWORD } from '../helper.js'
import { mailReceiver } from '@metadome/testing/mail'

// Whoever copied an access token (15 minutes of it) points the account's
// email at their own address, then asks for a password reset: the link
// comes to them, and the account is theirs for good. A new email address is
// proven with currentPassword, like a new username or password.

t.test('a stolen access token cannot move the account\'s email to the attacker and reset the password', async (t) => {
  const inbox = await mailReceiver(t)
  const { app } = await build(t, { SMTP_URL: inbox.url, MAIL_FROM: 'metadome <no-reply@metadome.test>' })
  const victim = await signUp(app, 'victim', { email: 'victim@example.com' })
  const patch = async (payload: Record<string, unknown>) =>
    await app.inject({ method: 'PATCH', url: `/v1/users/${victim.id}`, headers: victim.auth, payload })

  const stolen = await patch({ email: 'mallory@evil.example' })
  t.equal(stolen.statusCode, 400, 'without currentPassword the address is not changed')
  t.equal(stolen.json().error.code, 'current_password_required')
  const wrong = await patch({ email: 'mallory@evil.example', currentPassword: 'a guess' })
  t.equal(wrong.statusCode, 403, 'nor with a wrong one')
  const me = await app.inject({ url: '/v1/users/me', headers: victim.auth })
  t.equal(me.json().user.email, 'victim@example.com', 'the address is the victim\'s still')

  await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: 'mallory@evil.example' } })
  await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { username: 'victim' } })
  const mail = await inbox.nth(1)
  t.same(mail.to, ['victim@example.com'], 'a reset link goes to the victim only')

  const own = await patch({ email: 'victim@new.example', currentPassword: PASSWORD })
  t.equal(own.statusCode, 200, 'the owner, with the password, moves the address')
  t.equal(own.json().user.email, 'victim@new.example')
  const name = await patch({ displayName: 'Victim' })
  t.equal(name.statusCode, 200, 'a display name still needs no password')
})
