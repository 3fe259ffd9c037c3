import t, { type Test } from 'tap'
import { build, PASSWORD } from '../helper.js'
import { FREE_FAILURES } from '../../src/db/login-attempt.repository.js'
import { ATTACKER, VICTIM_HOME, loginFrom, victimAt } from './sign-in.js'

// auth-api runs as several replicas behind one address. A count kept in each
// process would give an attacker five tries per replica, and one more
// replica would mean five more; the count lives in PostgreSQL, and whichever
// replica a try lands on adds to the same one.

async function twoReplicas (t: Test) {
  const a = await build(t)
  // The same database, NATS namespace and signing key: a second replica.
  const b = await build(t, { DATABASE_URL: a.config.DATABASE_URL, NATS_NAMESPACE: a.config.NATS_NAMESPACE, DATA_DIR: a.config.DATA_DIR })
  return [a.app, b.app] as const
}

t.test('sign-in guesses alternating between two replicas share one count', async (t) => {
  const replicas = await twoReplicas(t)
  await victimAt(replicas[0], 'victim')
  const guesses = await Promise.all(Array.from({ length: 20 }, async (_, i) => await loginFrom(replicas[i % 2]!, ATTACKER, 'victim', `guess number ${i}`)))
  t.equal(guesses.filter((r) => r.statusCode === 401).length, FREE_FAILURES, 'five checked, on both together')
  t.equal(guesses.filter((r) => r.statusCode === 429).length, 20 - FREE_FAILURES, 'the others wait')
  for (const [i, app] of replicas.entries()) {
    t.equal((await loginFrom(app, ATTACKER, 'victim', PASSWORD)).statusCode, 429, `replica ${i + 1} holds the attacker`)
    t.equal((await loginFrom(app, VICTIM_HOME, 'victim', PASSWORD)).statusCode, 200, `replica ${i + 1} lets the victim in`)
  }
})

t.test('currentPassword guesses alternating between two replicas share one count', async (t) => {
  const replicas = await twoReplicas(t)
  const victim = await victimAt(replicas[0], 'victim')
  const patch = async (i: number, currentPassword: string) => await replicas[i % 2]!.inject({
    method: 'PATCH', url: `/v1/users/${victim.id}`, headers: { authorization: victim.authorization }, payload: { password: 'the attacker now owns this', currentPassword }, remoteAddress: ATTACKER
  })
  const guesses = await Promise.all(Array.from({ length: 20 }, async (_, i) => await patch(i, `guess number ${i}`)))
  t.equal(guesses.filter((r) => r.statusCode === 403).length, FREE_FAILURES, 'five checked, on both together')
  t.equal(guesses.filter((r) => r.statusCode === 429).length, 20 - FREE_FAILURES, 'the others wait')
  t.equal((await patch(0, PASSWORD)).statusCode, 429, 'replica 1 holds the attacker')
  t.equal((await patch(1, PASSWORD)).statusCode, 429, 'replica 2 holds the attacker')
})
