import t from 'tap'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { build, signUp, PASSWORD } from '../helper.js'
import { ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY_S, FREE_FAILURES, MAX_DELAY_S } from '../../src/db/login-attempt.repository.js'

const metric = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)

t.test('twenty wrong passwords at once: five are checked, fifteen are slowed down, none gets past', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  const guesses = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: `guess number ${i}` } })))
  const byStatus = (status: number) => guesses.filter((r) => r.statusCode === status)
  t.equal(byStatus(401).length, FREE_FAILURES, 'exactly as many checked as are free')
  t.equal(byStatus(429).length, 20 - FREE_FAILURES)
  for (const r of byStatus(429)) {
    t.equal(r.json().error.code, 'too_many_attempts')
    t.ok(Number(r.headers['retry-after']) >= 1, 'with Retry-After')
  }
  const row = await app.authDb.selectFrom('login_attempts_by_address').selectAll().executeTakeFirstOrThrow()
  t.equal(row.failures, FREE_FAILURES, 'attempts refused while waiting are not counted')

  const right = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(right.statusCode, 429, 'while waiting, even the right password is not checked')

  const metrics = (await app.inject('/metrics')).body
  t.equal(metric(metrics, 'auth_logins_total{outcome="failure",app="auth-api"}'), FREE_FAILURES)
  t.equal(metric(metrics, 'auth_logins_total{outcome="locked",app="auth-api"}'), 20 - FREE_FAILURES + 1)
})

t.test('the wait is over by itself: then the owner signs in and the count starts again', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  for (let i = 0; i < FREE_FAILURES; i++) {
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'wrong password' } })
  }
  const locked = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(locked.statusCode, 429)
  // End the wait without waiting for it.
  await app.authDb.updateTable('login_attempts_by_address').set({ locked_until: sql<Date>`now() - interval '1 second'` }).execute()
  const ok = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(ok.statusCode, 200)
  const row = await app.authDb.selectFrom('login_attempts_by_address').selectAll().executeTakeFirstOrThrow()
  t.equal(row.failures, 0, 'the count is cleared')
  t.equal(row.locked_until, null)
})

t.test('the wait doubles with each failure and never exceeds 15 minutes', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  const waits: number[] = []
  for (const failures of [FREE_FAILURES, FREE_FAILURES + 1, FREE_FAILURES + 2, FREE_FAILURES + 9, 40, 1000]) {
    // As if `failures - 1` failures happened from this address and the last wait is over.
    await app.authDb.deleteFrom('login_attempts_by_address').execute()
    await app.authDb.insertInto('login_attempts_by_address').values({ username_key: 'alice', client_address: '127.0.0.1', failures: failures - 1, locked_until: null, last_failure_at: new Date() }).execute()
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'wrong password' } })
    t.equal(res.statusCode, 401)
    const row = await app.authDb.selectFrom('login_attempts_by_address')
      .select(sql<number>`round(extract(epoch from locked_until - now()))`.as('wait')).executeTakeFirstOrThrow()
    waits.push(Number(row.wait))
  }
  t.same(waits, [1, 2, 4, 512, MAX_DELAY_S, MAX_DELAY_S])
})

t.test('an unknown username is slowed down exactly like a real one, and verified against a dummy hash', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  const verifies = async () => metric((await app.inject('/metrics')).body, 'auth_password_hash_seconds_count{app="auth-api",op="verify"}')
  const before = await verifies()
  const attempts = async (username: string) => {
    const out: Array<[number, string]> = []
    for (let i = 0; i < FREE_FAILURES + 2; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password: 'wrong password' } })
      out.push([res.statusCode, res.body])
    }
    return out
  }
  const real = await attempts('alice')
  const ghost = await attempts('nobody-here')
  t.same(ghost, real, 'the same statuses and bodies, attempt by attempt')
  const after = await verifies()
  t.equal(after - before, 2 * FREE_FAILURES, `bcrypt ran for the unknown user as for the real one (${before} then ${after})`)
})

const login = async (app: FastifyInstance, ip: string, password: string) =>
  await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password }, remoteAddress: ip })
const accountWait = async (app: FastifyInstance): Promise<number | null> => {
  const row = await app.authDb.selectFrom('login_attempts')
    .select(sql<number | null>`round(extract(epoch from locked_until - now()))`.as('wait')).where('username_key', '=', 'alice').executeTakeFirst()
  return row?.wait === undefined || row.wait === null ? null : Number(row.wait)
}

t.test('the account\'s own count: fifty failures from anywhere, then waits of at most a minute', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  const waits: Array<number | null> = []
  for (const failures of [ACCOUNT_FREE_FAILURES - 1, ACCOUNT_FREE_FAILURES, ACCOUNT_FREE_FAILURES + 1, ACCOUNT_FREE_FAILURES + 5, ACCOUNT_FREE_FAILURES + 6, 1000]) {
    // As if `failures - 1` failures happened from other addresses and the last wait is over.
    await app.authDb.deleteFrom('login_attempts').execute()
    await app.authDb.insertInto('login_attempts').values({ username_key: 'alice', failures: failures - 1, locked_until: null }).execute()
    t.equal((await login(app, `192.0.2.${failures % 250}`, 'wrong password')).statusCode, 401, `failure ${failures}, from a new address, is checked`)
    waits.push(await accountWait(app))
  }
  t.same(waits, [null, 1, 2, 32, ACCOUNT_MAX_DELAY_S, ACCOUNT_MAX_DELAY_S])

  const held = await login(app, '192.0.2.251', PASSWORD)
  t.equal(held.statusCode, 429, 'while the account waits, a new address waits')
  t.ok(Number(held.headers['retry-after']) <= ACCOUNT_MAX_DELAY_S, 'a minute at most')
  t.equal((await app.authDb.selectFrom('login_attempts_by_address').select('failures').where('client_address', '=', '192.0.2.251').executeTakeFirst())?.failures, undefined,
    'and the refusal is not counted for that address either')
  t.equal((await login(app, '127.0.0.1', PASSWORD)).statusCode, 200, 'an address the account signed in from is let through')
})

t.test('wrong passwords from a known address count for that address, not for the account', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  for (let i = 0; i < 3; i++) t.equal((await login(app, '127.0.0.1', 'wrong password')).statusCode, 401)
  t.equal(await app.authDb.selectFrom('login_attempts').selectAll().executeTakeFirst(), undefined, 'the account\'s count is untouched')
  t.equal((await app.authDb.selectFrom('login_attempts_by_address').select('failures').executeTakeFirstOrThrow()).failures, 3)
})

t.test('a right password takes back its own charge on the account\'s count, not the others\'', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  t.equal(await app.authDb.selectFrom('login_attempts').selectAll().executeTakeFirst(), undefined, 'signing up and in from a new address leaves no count')
  for (let i = 0; i < 3; i++) await login(app, '198.51.100.66', 'wrong password')
  t.equal((await login(app, '192.0.2.44', PASSWORD)).statusCode, 200)
  t.equal((await app.authDb.selectFrom('login_attempts').select('failures').executeTakeFirstOrThrow()).failures, 3, 'the attacker\'s three stay')
})

t.test('an address last signed in from more than 90 days ago is a new address again', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  await app.authDb.updateTable('login_attempts_by_address').set({ signed_in_at: sql<Date>`now() - interval '91 days'` }).execute()
  await app.authDb.insertInto('login_attempts').values({ username_key: 'alice', failures: 1000, locked_until: sql<Date>`now() + interval '1 minute'` }).execute()
  t.equal((await login(app, '127.0.0.1', PASSWORD)).statusCode, 429)
  await app.authDb.updateTable('login_attempts_by_address').set({ signed_in_at: sql<Date>`now() - interval '89 days'` }).execute()
  t.equal((await login(app, '127.0.0.1', PASSWORD)).statusCode, 200)
})
