import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { Msg } from '@nats-io/transport-node'
import type { PoolClient } from 'pg'
import { chatSubjects, DeadLetterHeaders } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { build, createWriterContext, groupEvent, groupMessage, type TestWriter, type WriterContext } from '../helper.js'

// A group message is stored only if its sender was a member of the group at
// the message's seq (DESIGN.md "Membership is checked where it is
// enforced"). These publish straight to CHAT, as a client that bypassed the
// gateway's check could.

const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'
const carol = '2c9e3b5a-4d6f-4081-8cbd-2e3f4a5b6c7d'
const mallory = '4eb05d7c-6f81-42a3-8edf-4a5b6c7d8e9f'

/** The dead letters published from now on, by the CHAT seq they came from. */
async function deadLetters (t: Test, ctx: WriterContext): Promise<Map<number, Msg>> {
  const dead = new Map<number, Msg>()
  const sub = ctx.nc.subscribe(chatSubjects(ctx.ns).deadLetter, { callback: (_err, msg) => { dead.set(Number(msg.headers?.get(DeadLetterHeaders.streamSeq)), msg) } })
  t.teardown(() => { sub.unsubscribe() })
  await ctx.nc.flush()
  return dead
}

/** Waits until every CHAT entry up to `seq` is settled (stored, acked or dead-lettered). */
async function settled (ctx: WriterContext, seq: number): Promise<void> {
  // A writer just started may not have joined the RPC queue group yet: unavailable, asked again.
  const position = async (): Promise<number> => (await ctx.rpc.call('writer.position', {}).catch(() => ({ storedThrough: 0 }))).storedThrough
  await until(async () => await position() >= seq, 20_000, `everything through ${seq} settled`)
}

async function metric (w: TestWriter, pattern: RegExp): Promise<number> {
  const m = pattern.exec((await w.app.inject('/metrics')).body)
  return Number(m?.[1] ?? 0)
}

const deadLettersOf = (category: string) => new RegExp(`writer_dead_letters_total\\{stream="chat",category="${category}"[^}]*\\} (\\d+)`)

async function storedIds (ctx: WriterContext): Promise<string[]> {
  return (await ctx.messages()).map((m) => m.id)
}

t.test('a message to a group from someone who was never a member is dead-lettered, not stored', async (t) => {
  const w = await build(t)
  const { ctx } = w
  const dead = await deadLetters(t, ctx)
  const group = randomUUID()
  await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }] }))
  const intruding = groupMessage(group, mallory)
  const intrudingSeq = await ctx.send(intruding)
  const fine = groupMessage(group, bob)
  const fineSeq = await ctx.send(fine)
  await settled(ctx, fineSeq)

  t.same(await storedIds(ctx), [fine.id], 'only the member\'s message is stored')
  t.match(dead.get(intrudingSeq)?.headers?.get(DeadLetterHeaders.reason), /not a member/)
  t.equal(dead.get(intrudingSeq)?.string(), JSON.stringify(intruding), 'the dead letter is the message as published')
  t.equal(await metric(w, deadLettersOf('not_a_member')), 1)
  t.equal(dead.size, 1)
})

t.test('a message from a member removed before it is dead-lettered; the others\' are stored', async (t) => {
  const { ctx } = await build(t)
  const dead = await deadLetters(t, ctx)
  const group = randomUUID()
  await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }, { userId: carol, role: 'member' }] }))
  const before = groupMessage(group, bob)
  await ctx.send(before)
  await ctx.conversationEvent(groupEvent(group, { type: 'member_removed', actorId: alice, userId: bob }))
  await ctx.conversationEvent(groupEvent(group, { type: 'member_left', actorId: carol }))
  const afterRemoval = groupMessage(group, bob)
  const afterRemovalSeq = await ctx.send(afterRemoval)
  const afterLeaving = groupMessage(group, carol)
  const afterLeavingSeq = await ctx.send(afterLeaving)
  const owner = groupMessage(group, alice)
  const ownerSeq = await ctx.send(owner)
  await settled(ctx, ownerSeq)

  t.same(await storedIds(ctx), [before.id, owner.id], 'the message from before the removal and the remaining member\'s')
  t.match(dead.get(afterRemovalSeq)?.headers?.get(DeadLetterHeaders.reason), /not a member/, 'removed')
  t.match(dead.get(afterLeavingSeq)?.headers?.get(DeadLetterHeaders.reason), /not a member/, 'left')
})

t.test('a member removed and added again: a message from between is dead-lettered, those from either membership are stored', async (t) => {
  const ctx = await createWriterContext(t)
  const dead = await deadLetters(t, ctx)
  const group = randomUUID()
  // All published before the writer starts, so that the messages are checked
  // only after bob's second membership replaced his first in chat.members.
  await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }] }))
  const first = groupMessage(group, bob, { n: 1 })
  await ctx.send(first)
  await ctx.conversationEvent(groupEvent(group, { type: 'member_removed', actorId: alice, userId: bob }))
  const between = groupMessage(group, bob, { n: 2 })
  const betweenSeq = await ctx.send(between)
  await ctx.conversationEvent(groupEvent(group, { type: 'member_added', actorId: alice, userId: bob }))
  const again = groupMessage(group, bob, { n: 3 })
  const againSeq = await ctx.send(again)
  await ctx.start()
  await settled(ctx, againSeq)

  t.same(await storedIds(ctx), [first.id, again.id], 'the first membership\'s message and the second\'s')
  t.match(dead.get(betweenSeq)?.headers?.get(DeadLetterHeaders.reason), /not a member/, 'the one sent while removed')
  t.equal(dead.size, 1)
  t.same((await ctx.rpc.call('messages.history', { conversationId: group, userId: alice })).items.map((m) => m.id), [again.id, first.id])
})

// The race: another batch (or replica) is still applying the event when the
// message is checked. Simulated by holding the lock the event's transaction
// needs: the event is in the stream, not applied, until it is released.
const races = [
  {
    what: 'a member\'s message sent right after their addition',
    sender: bob,
    before: (group: string) => [groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }] })],
    change: (group: string) => groupEvent(group, { type: 'member_added', actorId: alice, userId: bob }),
    hold: async (db: PoolClient, group: string) => { await db.query('select id from chat.conversations where id = $1 for update', [group]) }
  },
  {
    what: 'a message sent right after its group\'s creation',
    sender: alice,
    before: () => [],
    change: (group: string) => groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }] }),
    hold: async (db: PoolClient) => { await db.query('lock table chat.conversations in share mode') }
  }
]
for (const race of races) {
  t.test(`${race.what} is stored even when it is checked before the change is applied`, async (t) => {
    const w = await build(t)
    const { ctx } = w
    const dead = await deadLetters(t, ctx)
    const group = randomUUID()
    for (const e of race.before(group)) await settled(ctx, await ctx.conversationEvent(e))

    const holder = await ctx.sql.connect()
    t.teardown(() => { holder.release() })
    await holder.query('begin')
    await race.hold(holder, group)
    const changeSeq = await ctx.conversationEvent(race.change(group))
    await until(async () => {
      const { rows } = await ctx.sql.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")
      return (rows[0]?.n ?? 0) > 0
    }, 10_000, 'the change to wait for the lock')

    const message = groupMessage(group, race.sender)
    const messageSeq = await ctx.send(message)
    t.ok(messageSeq > changeSeq)
    const retries = /writer_stream_messages_total\{stream="chat",outcome="retry"[^}]*\} (\d+)/
    await until(async () => await metric(w, retries) > 0, 10_000, 'the message to be checked and told to wait')
    t.same(await storedIds(ctx), [], 'not stored while the change is not applied')
    t.equal(dead.size, 0, 'nor dead-lettered')

    await holder.query('commit')
    await settled(ctx, messageSeq)
    t.same(await storedIds(ctx), [message.id], 'stored once the change is applied')
    t.equal(dead.size, 0)
    t.same((await ctx.rpc.call('conversations.get', { conversationId: group, userId: bob })).conversation.members, [alice, bob].sort())
  })
}

t.test('a message to a group that does not exist, or from before the group was created, is dead-lettered at once', async (t) => {
  const ctx = await createWriterContext(t)
  const dead = await deadLetters(t, ctx)
  const nowhere = groupMessage(randomUUID(), alice)
  const nowhereSeq = await ctx.send(nowhere)
  // Published to CHAT ahead of the group's creation, as a client that did
  // not wait for the creation's ack might.
  const group = randomUUID()
  const early = groupMessage(group, alice)
  const earlySeq = await ctx.send(early)
  await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }] }))
  const late = groupMessage(group, alice)
  const lateSeq = await ctx.send(late)
  const w = await ctx.start()
  await settled(ctx, lateSeq)

  t.same(await storedIds(ctx), [late.id])
  t.match(dead.get(nowhereSeq)?.headers?.get(DeadLetterHeaders.reason), /does not exist/)
  t.equal(await metric(w, deadLettersOf('unknown_conversation')), 1)
  t.match(dead.get(earlySeq)?.headers?.get(DeadLetterHeaders.reason), /not a member/, 'the group did not exist yet at its seq')
  t.equal(dead.size, 2)
  const redelivered = /writer_stream_messages_total\{stream="chat",outcome="retry"[^}]*\} (\d+)/
  t.equal(await metric(w, redelivered), 0, 'decided on the first delivery: nothing left to wait for')
})

t.test('a dead-lettered membership event does not hold up the group\'s later messages', async (t) => {
  const { ctx } = await build(t)
  const dead = await deadLetters(t, ctx)
  const group = randomUUID()
  await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }] }))
  // Refused (a member removes nobody), and one that is not an event at all.
  const refusedSeq = await ctx.conversationEvent(groupEvent(group, { type: 'member_removed', actorId: bob, userId: alice }))
  const junkSeq = (await ctx.js.publish(chatSubjects(ctx.ns).conversationEvent(group), '{"not":"an event"}', { msgID: randomUUID() })).seq
  const message = groupMessage(group, bob)
  const messageSeq = await ctx.send(message)
  await settled(ctx, messageSeq)

  t.same(await storedIds(ctx), [message.id])
  t.match(dead.get(refusedSeq)?.headers?.get(DeadLetterHeaders.reason), /refused/)
  t.ok(dead.has(junkSeq))
  t.equal(dead.size, 2)

  // And later batches do not wait for them either.
  const next = groupMessage(group, alice)
  await settled(ctx, await ctx.send(next))
  t.same(await storedIds(ctx), [message.id, next.id])
})

t.test('a stored message delivered again is acked as a duplicate even when the membership it was sent in is not known any more', async (t) => {
  const ctx = await createWriterContext(t)
  const first = await ctx.start()
  const dead = await deadLetters(t, ctx)
  const group = randomUUID()
  await ctx.conversationEvent(groupEvent(group, { type: 'created', actorId: alice, title: 'T', members: [{ userId: alice, role: 'owner' }, { userId: bob, role: 'member' }] }))
  const message = groupMessage(group, bob)
  const seq = await ctx.send(message)
  await settled(ctx, seq)
  t.same(await storedIds(ctx), [message.id])
  await first.close()

  // As for a message stored before the writer kept every membership: bob's
  // windows are gone, and every entry of CHAT is delivered again.
  await ctx.sql.query('delete from chat.member_periods where conversation_id = $1 and user_id = $2', [group, bob])
  await ctx.jsm.consumers.delete(ctx.ns.stream('CHAT'), ctx.ns.consumer('writer'))
  const second = await ctx.start()
  await settled(ctx, seq)
  t.equal(await metric(second, /writer_stream_messages_total\{stream="chat",outcome="duplicate"[^}]*\} (\d+)/), 2, 'the event and the message')
  t.equal(dead.size, 0, 'nothing dead-lettered')
  t.same(await storedIds(ctx), [message.id])
})

