import t from 'tap'
import { sql } from 'kysely'
import { build, signUp, PASSWORD } from '../helper.js'
import { FREE_FAILURES, MAX_DELAY_S } from '../../src/db/login-attempt.repository.js'

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
  const row = await app.authDb.selectFrom('login_attempts').selectAll().executeTakeFirstOrThrow()
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
  await app.authDb.updateTable('login_attempts').set({ locked_until: sql<Date>`now() - interval '1 second'` }).execute()
  const ok = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(ok.statusCode, 200)
  t.equal((await app.authDb.selectFrom('login_attempts').selectAll().execute()).length, 0, 'the count is cleared')
})

t.test('the wait doubles with each failure and never exceeds 15 minutes', async (t) => {
  const { app } = await build(t)
  await signUp(app, 'alice')
  const waits: number[] = []
  for (const failures of [FREE_FAILURES, FREE_FAILURES + 1, FREE_FAILURES + 2, FREE_FAILURES + 9, 40, 1000]) {
    // As if `failures - 1` failures happened and the last wait is over.
    await app.authDb.deleteFrom('login_attempts').execute()
    await app.authDb.insertInto('login_attempts').values({ username_key: 'alice', failures: failures - 1, locked_until: null }).execute()
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'alice', password: 'wrong password' } })
    t.equal(res.statusCode, 401)
    const row = await app.authDb.selectFrom('login_attempts')
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
