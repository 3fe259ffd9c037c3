import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { build, PASSWORD } from '../helper.js'
import { ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY_S, FREE_FAILURES } from '../../src/db/login-attempt.repository.js'
import { ATTACKER, CAFE, VICTIM_HOME, loginFrom, statuses, victimAt } from './sign-in.js'

// Wrong passwords slow down whoever sends them. Counted per account alone,
// they would let anyone keep any account shut: guess wrong five times a
// minute from anywhere and the owner, on their own device, meets the wait
// too. The count is per account and client address, so the attacker's
// guesses slow the attacker; a looser count per account (whatever the
// address) bounds what many addresses together may try, and an address the
// account signed in from before is not held by that one.

const count = (list: number[], status: number): number => list.filter((s) => s === status).length

t.test('an attacker hammering the victim\'s username from one address does not lock the victim out', async (t) => {
  const { app } = await build(t)
  await victimAt(app, 'victim')

  const guesses = statuses(await Promise.all(Array.from({ length: 20 }, async (_, i) => await loginFrom(app, ATTACKER, 'victim', `guess number ${i}`))))
  t.equal(count(guesses, 401), FREE_FAILURES, 'the attacker has their five tries')
  t.equal(count(guesses, 429), 20 - FREE_FAILURES, 'then waits')
  t.equal((await loginFrom(app, ATTACKER, 'victim', PASSWORD)).statusCode, 429, 'the attacker\'s address stays held, right password or not')
  t.equal((await loginFrom(app, `::ffff:${ATTACKER}`, 'victim', PASSWORD)).statusCode, 429, 'written as an IPv4-mapped IPv6 address too')

  t.equal((await loginFrom(app, VICTIM_HOME, 'victim', PASSWORD)).statusCode, 200, 'the victim signs in from home')
  t.equal((await loginFrom(app, CAFE, 'victim', PASSWORD)).statusCode, 200, 'and from an address never seen before')
})

t.test('guesses spread over many addresses only slow the account: the owner\'s own address gets in, and the wait wears off', async (t) => {
  const { app } = await build(t)
  await victimAt(app, 'victim')

  // A botnet: 20 addresses, five guesses each, all at once.
  const botnet = statuses(await Promise.all(Array.from({ length: 20 * FREE_FAILURES }, async (_, i) =>
    await loginFrom(app, `198.51.100.${1 + (i % 20)}`, 'victim', `guess number ${i}`))))
  t.equal(count(botnet, 401), ACCOUNT_FREE_FAILURES, 'all the addresses together have the account\'s fifty tries')
  // The account's first waits are short (a second or two), and the rest of
  // the botnet's requests can take longer than that on a busy machine: one
  // more wrong guess, from a fresh address once the wait is over, holds the
  // account again just before the owner tries.
  for (let extra = 0, i = 1; extra < 1; i++) {
    const guess = await loginFrom(app, `203.0.113.${i}`, 'victim', `late guess ${i}`)
    if (guess.statusCode === 401) extra++
    else await sleep(200)
  }

  const cafe = await loginFrom(app, CAFE, 'victim', PASSWORD)
  t.equal(cafe.statusCode, 429, 'a new address waits while the account is under attack')
  t.equal(cafe.json().error.code, 'too_many_attempts', 'too_many_attempts')
  const wait = Number(cafe.headers['retry-after'])
  t.ok(wait >= 1 && wait <= ACCOUNT_MAX_DELAY_S, `for a short while only (Retry-After ${wait})`)

  t.equal((await loginFrom(app, VICTIM_HOME, 'victim', PASSWORD)).statusCode, 200, 'the address the victim signed in from before is not held')

  await sleep(wait * 1000 + 100)
  t.equal((await loginFrom(app, CAFE, 'victim', PASSWORD)).statusCode, 200, 'once the wait is over, the new address gets in too')
})

t.test('a forged X-Forwarded-For buys no fresh tries and cannot pass for the victim', async (t) => {
  const PROXY = '10.0.0.2'
  const { app } = await build(t, { TRUST_PROXY: PROXY })
  const res = await app.inject({ method: 'POST', url: '/v1/users', payload: { username: 'victim', password: PASSWORD } })
  t.equal(res.statusCode, 201, 'the victim registers')
  const viaProxy = async (forwardedFor: string, password: string) => await app.inject({
    method: 'POST', url: '/v1/auth/login', payload: { username: 'victim', password }, remoteAddress: PROXY, headers: { 'x-forwarded-for': forwardedFor }
  })
  t.equal((await viaProxy(VICTIM_HOME, PASSWORD)).statusCode, 200, 'the victim signs in from home, through the proxy')

  // Straight to the app, a new made-up address each time: the header is not the proxy's.
  const direct = statuses(await Promise.all(Array.from({ length: 20 }, async (_, i) => await app.inject({
    method: 'POST', url: '/v1/auth/login', payload: { username: 'victim', password: `guess ${i}` }, remoteAddress: ATTACKER, headers: { 'x-forwarded-for': `192.0.2.${i + 1}` }
  }))))
  t.equal(count(direct, 401), FREE_FAILURES, 'made-up addresses share the attacker\'s count')

  // Through the proxy, claiming to be the victim's home: the proxy appends the real address.
  const claimed = statuses(await Promise.all(Array.from({ length: 20 }, async (_, i) => await viaProxy(`${VICTIM_HOME}, 198.51.100.67`, `guess ${i}`))))
  t.equal(count(claimed, 401), FREE_FAILURES, 'claiming the victim\'s address counts as the attacker\'s')

  t.equal((await viaProxy(VICTIM_HOME, PASSWORD)).statusCode, 200, 'the victim still signs in from home')
})

t.test('rotating through the addresses of one IPv6 /64 buys no fresh tries', async (t) => {
  const { app } = await build(t)
  await victimAt(app, 'victim')
  const guesses = statuses(await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await loginFrom(app, `2001:db8:66:1:${(i + 1).toString(16)}::${i + 7}`, 'victim', `guess ${i}`))))
  t.equal(count(guesses, 401), FREE_FAILURES, 'one /64, one count')
  t.equal((await loginFrom(app, '2001:db8:66:1::ffff', 'victim', PASSWORD)).statusCode, 429, 'the whole /64 waits')
  t.equal((await loginFrom(app, VICTIM_HOME, 'victim', PASSWORD)).statusCode, 200, 'the victim signs in from home')
})
