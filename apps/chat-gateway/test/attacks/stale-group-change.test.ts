import t from 'tap'
import type { GroupChangeResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { rest } from '../helpers/rest.js'

// The attack: a change checked against a group's state before another
// change was stored (an admin's "add" checked just before their own
// removal) was applied anyway. Group changes are compare-and-set on the
// group's last event, so a change checked against a stale state is checked
// again, and refused if the new state forbids it.

t.test('two removals of the same member built on the same state: exactly one is applied', async (t) => {
  const s = await startStack(t)
  const [alice, bob, carol] = await Promise.all([s.user(), s.user(), s.user()])
  const created = await rest<GroupChangeResponse>(s, s.a, alice, 'POST', '/v1/conversations', { title: 'Team', members: [bob, carol] })
  const group = created.body.conversation.id
  const promoted = await rest<GroupChangeResponse>(s, s.a, alice, 'PATCH', `/v1/conversations/${group}/members/${bob}`, { role: 'admin' })
  t.equal(promoted.status, 200)
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= promoted.body.seq, 10_000, 'the writer to store the promotion')

  const [byAlice, byBob] = await Promise.all([
    rest<GroupChangeResponse>(s, s.a, alice, 'DELETE', `/v1/conversations/${group}/members/${carol}`),
    rest<GroupChangeResponse>(s, s.b, bob, 'DELETE', `/v1/conversations/${group}/members/${carol}`)
  ])
  t.same([byAlice.status, byBob.status].sort(), [200, 404], 'one removes her; the other finds no such member')
  const { rows } = await s.sql.query<{ n: string }>("select count(*) as n from chat.conversation_events where conversation_id = $1 and type = 'member_removed'", [group])
  t.equal(Number(rows[0]?.n), 1, 'one removal is stored')
})

t.test('an admin removed while adding someone: the addition is never stored after the removal', async (t) => {
  const s = await startStack(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const rounds = 6
  const newcomers = await Promise.all(Array.from({ length: rounds }, async () => await s.user()))
  for (let round = 0; round < rounds; round++) {
    const created = await rest<GroupChangeResponse>(s, s.a, alice, 'POST', '/v1/conversations', { title: `Round ${round}`, members: [bob] })
    const group = created.body.conversation.id
    const promoted = await rest<GroupChangeResponse>(s, s.a, alice, 'PATCH', `/v1/conversations/${group}/members/${bob}`, { role: 'admin' })
    await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= promoted.body.seq, 10_000, 'the writer to store the promotion')

    const [removal, addition] = await Promise.all([
      rest<GroupChangeResponse>(s, s.a, alice, 'DELETE', `/v1/conversations/${group}/members/${bob}`),
      rest<GroupChangeResponse>(s, s.b, bob, 'POST', `/v1/conversations/${group}/members`, { userId: newcomers[round] })
    ])
    t.equal(removal.status, 200, 'the owner always removes the admin')
    if (addition.status === 200) {
      t.ok(addition.body.seq < removal.body.seq, 'an addition that was stored came before the removal')
    } else {
      t.equal(addition.status, 403, 'an addition after the removal is refused')
    }
    await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= Math.max(removal.body.seq, addition.status === 200 ? addition.body.seq : 0), 10_000, 'the writer to store both')
    const { rows } = await s.sql.query<{ seq: string, type: string }>('select seq, type from chat.conversation_events where conversation_id = $1 order by seq', [group])
    t.same(rows.map((r) => r.type), ['created', 'role_changed', ...(addition.status === 200 ? ['member_added'] : []), 'member_removed'], 'the writer applied every stored change')
  }
})
