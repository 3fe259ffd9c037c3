import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { generateAccountKey } from '@metadome/e2ee'
import { build, PASSWORD } from '../helper.js'
import { FREE_FAILURES } from '../../src/db/login-attempt.repository.js'
import { keyTarget } from './key-directory.js'
import { ATTACKER, VICTIM_HOME, loginFrom, victimAt } from './sign-in.js'

// Whoever copied an access token can ask for what needs the password
// (a new password, the account's deletion, a new account key) and guess
// `currentPassword` there. Those guesses go into the sign-in count, so a
// stolen session is no faster an oracle than the login form: five wrong
// ones from an address, then 429 too_many_attempts with Retry-After, and
// the right password is not even checked while the address waits.

/** 20 guesses at once; what they met, and the first refusal. */
async function guessTwenty (t: Test, attempt: (guess: string) => Promise<LightMyRequestResponse>): Promise<void> {
  const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => await attempt(`guess number ${i}`)))
  const wrong = answers.filter((r) => r.statusCode === 403)
  const held = answers.filter((r) => r.statusCode === 429)
  t.equal(wrong.length, FREE_FAILURES, 'five guesses are checked')
  t.ok(wrong.every((r) => r.json().error.code === 'wrong_current_password'), 'as wrong_current_password')
  t.equal(held.length, 20 - FREE_FAILURES, 'the others are refused unchecked')
  t.ok(held.every((r) => r.json().error.code === 'too_many_attempts'), 'as too_many_attempts')
  t.ok(held.every((r) => Number(r.headers['retry-after']) >= 1), 'with Retry-After')
  const right = await attempt(PASSWORD)
  t.equal(right.statusCode, 429, 'while waiting, even the right password is not checked')
}

t.test('guessing currentPassword to change the password of a stolen session is slowed down like sign-in', async (t) => {
  const { app } = await build(t)
  const victim = await victimAt(app, 'victim')
  const patch = async (currentPassword: string, ip: string) => await app.inject({
    method: 'PATCH', url: `/v1/users/${victim.id}`, headers: { authorization: victim.authorization }, payload: { password: 'the attacker now owns this', currentPassword }, remoteAddress: ip
  })
  await guessTwenty(t, async (guess) => await patch(guess, ATTACKER))
  const own = await app.inject({ method: 'PATCH', url: `/v1/users/${victim.id}`, headers: { authorization: victim.authorization }, payload: { password: 'a brand new passphrase', currentPassword: PASSWORD }, remoteAddress: VICTIM_HOME })
  t.equal(own.statusCode, 200, 'the victim, from home, changes the password')
})

t.test('guessing currentPassword to delete the account of a stolen session is slowed down like sign-in', async (t) => {
  const { app } = await build(t)
  const victim = await victimAt(app, 'victim')
  const del = async (currentPassword: string, ip: string) => await app.inject({
    method: 'DELETE', url: `/v1/users/${victim.id}`, headers: { authorization: victim.authorization }, payload: { currentPassword }, remoteAddress: ip
  })
  await guessTwenty(t, async (guess) => await del(guess, ATTACKER))
  t.equal((await del(PASSWORD, VICTIM_HOME)).statusCode, 204, 'the victim, from home, deletes their account')
})

t.test('guessing currentPassword to replace the account key of a stolen session is slowed down like sign-in', async (t) => {
  const { put, list, read, published } = await keyTarget(t)
  const theirs = await list(await generateAccountKey(), 2)
  await guessTwenty(t, async (guess) => await put({ ...theirs, currentPassword: guess }, ATTACKER))
  t.same(await read(), published, 'everyone still reads the victim\'s own list')
  const mine = await list(await generateAccountKey(), 2)
  t.equal((await put({ ...mine, currentPassword: PASSWORD })).statusCode, 200, 'the victim, from their own address, replaces their account key')
  t.equal((await read()).accountKey, mine.accountKey)
})

t.test('wrong sign-ins and wrong currentPasswords from one address share one count', async (t) => {
  const { app } = await build(t)
  const victim = await victimAt(app, 'victim')
  const patch = async (currentPassword: string) => await app.inject({
    method: 'PATCH', url: `/v1/users/${victim.id}`, headers: { authorization: victim.authorization }, payload: { username: 'taken-over', currentPassword }, remoteAddress: ATTACKER
  })
  for (let i = 0; i < 3; i++) t.equal((await loginFrom(app, ATTACKER, 'victim', `guess ${i}`)).statusCode, 401, `sign-in guess ${i + 1}`)
  for (let i = 3; i < FREE_FAILURES; i++) t.equal((await patch(`guess ${i}`)).statusCode, 403, `currentPassword guess ${i + 1}`)
  t.equal((await patch(PASSWORD)).statusCode, 429, 'the sixth try, by currentPassword, waits')
  t.equal((await loginFrom(app, ATTACKER, 'victim', PASSWORD)).statusCode, 429, 'and so does sign-in from that address')
  t.equal((await loginFrom(app, VICTIM_HOME, 'victim', PASSWORD)).statusCode, 200, 'the victim, from home, is not held')
})
