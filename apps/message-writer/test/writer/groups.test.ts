import t from 'tap'
import { randomUUID } from 'node:crypto'
import { chatSubjects, DeadLetterHeaders } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { build, directMessage, groupEvent, type WriterContext } from '../helper.js'
import { nextState } from '../../src/writer/group-state.js'

// Group membership events: checked over RPC before publishing, applied by
// the writer from CHAT in seq order, windows set from their seqs.

const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'
const carol = '2c9e3b5a-4d6f-4081-8cbd-2e3f4a5b6c7d'
const dave = '3daf4c6b-5e70-4192-9dce-3f4a5b6c7d8e'
const nobody = '5fc16e8d-7092-43b4-9fe0-5b6c7d8e9fa0'

async function members (ctx: WriterContext, group: string): Promise<Array<[string, string, number, number | null]>> {
  const { rows } = await ctx.sql.query<{ user_id: string, role: string, joined_seq: string, left_seq: string | null }>(
    'select user_id, role, joined_seq, left_seq from chat.members where conversation_id = $1 order by user_id', [group])
  return rows.map((r) => [r.user_id, r.role, Number(r.joined_seq), r.left_seq === null ? null : Number(r.left_seq)])
}

t.test('the rules, without a database', async (t) => {
  const g = randomUUID()
  const s1 = nextState(undefined, groupEvent(g, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'admin' }, { userId: carol, role: 'member' }] }), 1, 10)
  t.throws(() => nextState(s1, groupEvent(g, { type: 'member_removed', actorId: carol, userId: bob }), 2, 10), { code: 'forbidden' }, 'a member removes nobody')
  t.throws(() => nextState(s1, groupEvent(g, { type: 'member_removed', actorId: bob, userId: alice }), 2, 10), { code: 'forbidden' }, 'an admin does not remove the owner')
  t.throws(() => nextState(s1, groupEvent(g, { type: 'member_added', actorId: bob, userId: dave }), 2, 3), { code: 'too_large' })
  const left = nextState(s1, groupEvent(g, { type: 'member_left', actorId: alice }), 2, 10)
  t.equal(left.members.get(bob)?.role, 'owner', 'the oldest admin inherits')
  const s2 = nextState(nextState(s1, groupEvent(g, { type: 'member_removed', actorId: alice, userId: bob }), 2, 10), groupEvent(g, { type: 'member_added', actorId: alice, userId: dave }), 3, 10)
  t.equal(nextState(s2, groupEvent(g, { type: 'member_left', actorId: alice }), 4, 10).members.get(carol)?.role, 'owner', 'no admin: the oldest member inherits')
})

t.test('groups over RPC and the stream', async (t) => {
  const { ctx } = await build(t, { GROUP_MAX_MEMBERS: '4' })
  for (const [id, name] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol'], [dave, 'dave']] as const) {
    await ctx.userEvent('registered', { id, username: name, displayName: name })
  }
  await until(async () => (await ctx.rpc.call('users.get', { userId: dave })).user !== null, 10_000, 'the users projection')
  const group = randomUUID()
  const created = groupEvent(group, { type: 'created', actorId: alice, title: 'Team', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'admin' }, { userId: carol, role: 'member' }] })

  const { conversation } = await ctx.rpc.call('groups.authorize', { event: created })
  t.same(conversation.members, [alice, bob, carol].sort())
  t.same(conversation.roles, { [alice]: 'owner', [bob]: 'admin', [carol]: 'member' })
  await t.rejects(ctx.rpc.call('groups.authorize', { event: groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: nobody, role: 'member' }] }) }), { code: 'not_found' })
  await t.rejects(ctx.rpc.call('groups.authorize', { event: groupEvent(randomUUID(), { type: 'created', actorId: alice, title: 'T', members: [alice, bob, carol, dave, nobody].map((userId, i) => ({ userId, role: i === 0 ? 'owner' as const : 'member' as const })) }) }), { code: 'too_large' })
  await t.rejects(ctx.rpc.call('groups.authorize', { event: groupEvent(group, { type: 'member_added', actorId: alice, userId: dave }) }), { code: 'not_found' }, 'no such group yet')

  const createdSeq = await ctx.conversationEvent(created)
  await until(async () => (await members(ctx, group)).length === 3, 10_000, 'the group to be stored')
  t.same((await ctx.rpc.call('conversations.get', { conversationId: group, userId: carol })).role, 'member')
  await t.rejects(ctx.rpc.call('groups.authorize', { event: groupEvent(group, { type: 'member_added', actorId: carol, userId: dave }) }), { code: 'forbidden' }, 'a member adds nobody')
  await t.rejects(ctx.rpc.call('groups.authorize', { event: groupEvent(group, { type: 'member_added', actorId: dave, userId: dave }) }), { code: 'forbidden' }, 'nor does a stranger')

  const message = async (senderId: string, i: number): Promise<number> => await ctx.send({ id: randomUUID(), conversationId: group, senderId, sentAt: new Date().toISOString(), body: { i } })
  const m1 = await message(alice, 1)
  const added = groupEvent(group, { type: 'member_added', actorId: bob, userId: dave })
  await ctx.rpc.call('groups.authorize', { event: added })
  const addedSeq = await ctx.conversationEvent(added)
  const m2 = await message(dave, 2)
  const removedSeq = await ctx.conversationEvent(groupEvent(group, { type: 'member_removed', actorId: alice, userId: carol }))
  const m3 = await message(alice, 3)
  await until(async () => (await ctx.messages()).length === 3, 10_000, 'the messages to be stored')
  await until(async () => (await members(ctx, group)).some(([u, , , l]) => u === carol && l !== null), 10_000, 'the removal to be stored')
  t.same(await members(ctx, group), [
    [alice, 'owner', createdSeq, null], [bob, 'admin', createdSeq, null], [carol, 'member', createdSeq, removedSeq], [dave, 'member', addedSeq, null]
  ].sort((a, b) => String(a[0]) < String(b[0]) ? -1 : 1))

  const seqsOf = async (userId: string): Promise<number[]> => (await ctx.rpc.call('messages.history', { conversationId: group, userId })).items.map((m) => m.seq).reverse()
  t.same(await seqsOf(dave), [m2, m3], 'a new member reads from their joining on')
  t.same(await seqsOf(carol), [m1, m2], 'a removed member reads up to their removal')
  t.same((await ctx.rpc.call('messages.since', { userId: carol, after: 0 })).items.map((m) => m.seq), [m1, m2])
  await t.rejects(ctx.rpc.call('receipts.read', { conversationId: group, userId: carol, seq: m3 }), { code: 'forbidden' })

  await ctx.rpc.call('receipts.read', { conversationId: group, userId: dave, seq: m2 })
  const list = await ctx.rpc.call('conversations.list', { userId: dave })
  const mine = list.items.find((c) => c.id === group)
  t.equal(mine?.unread, 1, 'one message from others after the cursor')
  t.equal(mine?.lastSeq, m3)
  t.same(mine?.reads, { [dave]: m2 })
  t.equal((await ctx.rpc.call('conversations.list', { userId: bob })).items.find((c) => c.id === group)?.unread, 3, 'never read: everything from others since joining')

  // Published behind the check's back: refused when applied, dead-lettered with the reason.
  const dl = await ctx.jsm.streams.info(ctx.ns.stream('DEADLETTER')).catch(() => undefined)
  const before = dl?.state.messages ?? 0
  const bogus = groupEvent(group, { type: 'member_removed', actorId: carol, userId: alice })
  await ctx.conversationEvent(bogus)
  await until(async () => ((await ctx.jsm.streams.info(ctx.ns.stream('DEADLETTER'))).state.messages) > before, 30_000, 'the dead letter')
  const last = await ctx.jsm.streams.getMessage(ctx.ns.stream('DEADLETTER'), { last_by_subj: chatSubjects(ctx.ns).deadLetter })
  t.match(last?.header.get(DeadLetterHeaders.reason), /refused \(forbidden\)/)
  t.equal((await members(ctx, group)).find(([u]) => u === alice)?.[3], null, 'the owner is still a member')
})

t.test('conversations.list tells a group member the seq they joined at, from their latest addition', async (t) => {
  const { ctx } = await build(t)
  const group = randomUUID()
  const createdSeq = await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }] }))
  await ctx.conversationEvent(groupEvent(group, { type: 'member_removed', actorId: alice, userId: bob }))
  const addedAgainSeq = await ctx.conversationEvent(groupEvent(group, { type: 'member_added', actorId: alice, userId: bob }))
  const direct = directMessage(alice, bob)
  await ctx.send(direct)
  await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough >= addedAgainSeq + 1, 10_000, 'everything stored')

  const listOf = async (userId: string) => (await ctx.rpc.call('conversations.list', { userId })).items
  const ofBob = await listOf(bob)
  t.equal(ofBob.find((c) => c.id === group)?.joinedSeq, addedAgainSeq, 'bob: since he was added again')
  t.equal((await listOf(alice)).find((c) => c.id === group)?.joinedSeq, createdSeq, 'alice: since the creation')
  const dm = ofBob.find((c) => c.id === direct.conversationId)
  t.ok(dm !== undefined && !('joinedSeq' in dm), 'a direct conversation has none')

  // What a gateway subscribes bob to: the same, by id, a page at a time.
  const first = await ctx.rpc.call('conversations.memberships', { userId: bob, limit: 1 })
  t.equal(first.items.length, 1)
  t.ok(first.nextAfterId !== undefined, 'a second page')
  const second = await ctx.rpc.call('conversations.memberships', { userId: bob, limit: 1, afterId: first.nextAfterId })
  t.equal(second.nextAfterId, undefined, 'the last page')
  const memberships = [...first.items, ...second.items]
  t.same(memberships.map((m) => m.conversationId), [group, direct.conversationId].sort(), 'every membership once, by id')
  t.equal(memberships.find((m) => m.conversationId === group)?.joinedSeq, addedAgainSeq)
  t.equal(memberships.find((m) => m.conversationId === direct.conversationId)?.joinedSeq, 0)
  t.same((await ctx.rpc.call('conversations.memberships', { userId: randomUUID() })).items, [], 'none for a stranger')
})

t.test('a title with U+0000 is refused before publishing, and by the writer when published anyway', async (t) => {
  const { ctx } = await build(t)
  await ctx.userEvent('registered', { id: alice, username: 'alice', displayName: 'alice' })
  await until(async () => (await ctx.rpc.call('users.get', { userId: alice })).user !== null, 10_000, 'the users projection')
  const group = randomUUID()
  const nul = 'a\u0000b'
  await t.rejects(ctx.rpc.call('groups.authorize', { event: groupEvent(group, { type: 'created', actorId: alice, title: nul, members: [{ userId: alice, role: 'owner' }] }) }), { code: 'bad_request' })
  const createdSeq = await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }] }))
  await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough >= createdSeq, 10_000, 'the group to be stored')
  const rename = groupEvent(group, { type: 'renamed', actorId: alice, title: nul })
  await t.rejects(ctx.rpc.call('groups.authorize', { event: rename }), { code: 'bad_request' })

  // PostgreSQL could never store it: unrefused, it came back forever and
  // held the writer's position (and the group's later messages) back.
  const renameSeq = await ctx.conversationEvent(rename)
  await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough >= renameSeq, 30_000, 'the rename to be settled')
  const last = await ctx.jsm.streams.getMessage(ctx.ns.stream('DEADLETTER'), { last_by_subj: chatSubjects(ctx.ns).deadLetter })
  t.match(last?.header.get(DeadLetterHeaders.reason), /renamed refused \(bad_request\)/)
  t.equal((await ctx.rpc.call('conversations.get', { conversationId: group, userId: alice })).conversation.title, 'T')
})
