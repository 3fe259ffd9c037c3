import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { Msg } from '@nats-io/transport-node'
import { chatSubjects, DeadLetterHeaders, directConversationId } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { build, createWriterContext, directMessage, type WriterContext } from '../helper.js'

const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'
const carol = '2c9e3b5a-4d6f-4081-8cbd-2e3f4a5b6c7d'

/** Waits until chat.messages holds `n` rows and returns them. */
async function rows (ctx: WriterContext, n: number, timeoutMs = 30_000) {
  return await until(async () => {
    const r = await ctx.messages()
    return r.length >= n && r
  }, timeoutMs, `${n} stored messages`)
}

/** Publishes `n` messages concurrently (as many gateways would), returning id → seq. */
async function burst (ctx: WriterContext, n: number): Promise<Map<string, number>> {
  const sent = new Map<string, number>()
  const pending: Array<Promise<void>> = []
  for (let i = 0; i < n; i++) {
    const [from, to] = i % 3 === 0 ? [alice, bob] : i % 3 === 1 ? [bob, carol] : [carol, alice]
    const m = directMessage(from, to, { n: i })
    pending.push(ctx.send(m).then((seq) => { sent.set(m.id, seq) }))
    if (pending.length >= 200) await Promise.all(pending.splice(0))
  }
  await Promise.all(pending)
  return sent
}

function assertExactlyOnce (t: Test, stored: Array<{ id: string, seq: number }>, sent: Map<string, number>): void {
  t.equal(stored.length, sent.size, 'one row per published message')
  t.equal(new Set(stored.map((r) => r.id)).size, stored.length, 'no id twice')
  const wrong = stored.filter((r) => sent.get(r.id) !== r.seq)
  t.same(wrong, [], 'every row has the seq the stream gave its message')
}

t.test('a burst published to CHAT is stored once each, with the stream seq, in its conversation', async (t) => {
  const { ctx } = await build(t)
  const sent = await burst(ctx, 1_500)
  const stored = await rows(ctx, sent.size)
  assertExactlyOnce(t, stored, sent)

  const { rows: conversations } = await ctx.sql.query<{ id: string, kind: string, members: string[] }>(
    `select c.id, c.kind, array_agg(m.user_id::text order by m.user_id) as members
     from chat.conversations c join chat.members m on m.conversation_id = c.id group by c.id order by c.id`)
  t.equal(conversations.length, 3, 'three direct conversations, created by their first message')
  for (const c of conversations) {
    t.equal(c.kind, 'direct')
    t.equal(directConversationId(c.members[0] as string, c.members[1] as string), c.id, 'members are the two users of the id')
    const last = Math.max(...stored.filter((r) => r.conversation_id === c.id).map((r) => r.seq))
    const { conversation } = await ctx.rpc.call('conversations.get', { conversationId: c.id, userId: c.members[0] as string })
    t.equal(conversation.lastSeq, last, 'lastSeq is the newest seq of the conversation')
  }
})

t.test('a message delivered again (consumer recreated from the start) is never stored twice', async (t) => {
  const ctx = await createWriterContext(t)
  const first = await ctx.start()
  const sent = await burst(ctx, 300)
  await rows(ctx, 300)
  await first.close()

  // A new durable consumer starts from the first message: all 300 come again.
  await ctx.jsm.consumers.delete(ctx.ns.stream('CHAT'), ctx.ns.consumer('writer'))
  const second = await ctx.start()
  const duplicates = await until(async () => {
    const text = (await second.app.inject('/metrics')).body
    const m = /writer_stream_messages_total\{stream="chat",outcome="duplicate"[^}]*\} (\d+)/.exec(text)
    return m !== null && Number(m[1]) === 300 && Number(m[1])
  }, 30_000, 'every redelivery to be settled')
  t.equal(duplicates, 300, 'all 300 were redelivered and acked as duplicates')
  assertExactlyOnce(t, await ctx.messages(), sent)
})

t.test('the same message published again under another stream seq keeps its first seq and one row', async (t) => {
  const ctx = await createWriterContext(t)
  const subject = (m: { conversationId: string }) => chatSubjects(ctx.ns).message(m.conversationId)
  // Past the duplicate window a resend is a new stream entry: same id, new seq.
  const m = directMessage(alice, bob)
  const seq1 = await ctx.send(m)
  const seq2 = (await ctx.js.publish(subject(m), JSON.stringify(m), { msgID: randomUUID() })).seq
  t.not(seq1, seq2)

  await ctx.start() // both arrive in one batch
  const stored = await rows(ctx, 1)
  const seq3 = (await ctx.js.publish(subject(m), JSON.stringify(m), { msgID: randomUUID() })).seq
  const next = directMessage(alice, bob)
  const seq4 = await ctx.send(next)
  await rows(ctx, 2) // and once more in a later batch
  t.ok(seq3 < seq4)
  t.same(await ctx.messages(), [{ id: m.id, seq: seq1, conversation_id: m.conversationId }, { id: next.id, seq: seq4, conversation_id: next.conversationId }])
  t.equal(stored[0]?.seq, seq1)
})

t.test('stopping the writer in the middle of a burst and starting it again leaves every message stored exactly once', async (t) => {
  const ctx = await createWriterContext(t)
  const first = await ctx.start({ WRITER_BATCH_SIZE: '100' })
  const publishing = burst(ctx, 2_000)
  await until(async () => (await ctx.messages()).length > 0 && true, 30_000, 'the first rows')
  await first.close() // SIGTERM does this: stop pulling, finish and ack the batches in flight
  t.comment(`stopped with ${(await ctx.messages()).length} of 2000 stored`)
  t.ok(first.logs.lines.some((l) => l.includes('writers stopped')), 'the writer said it stopped cleanly')

  await ctx.start({ WRITER_BATCH_SIZE: '100' })
  const sent = await publishing
  assertExactlyOnce(t, await rows(ctx, sent.size), sent)
})

t.test('two replicas on the same durable consumer store everything exactly once', async (t) => {
  const ctx = await createWriterContext(t)
  const a = await ctx.start({ WRITER_BATCH_SIZE: '50' })
  const b = await ctx.start({ WRITER_BATCH_SIZE: '50' })
  const sent = await burst(ctx, 2_000)
  assertExactlyOnce(t, await rows(ctx, sent.size), sent)
  const share = async (w: typeof a) => {
    const m = /writer_rows_written_total\{table="messages"[^}]*\} (\d+)/.exec((await w.app.inject('/metrics')).body)
    return Number(m?.[1] ?? 0)
  }
  const [byA, byB] = [await share(a), await share(b)]
  t.equal(byA + byB, 2_000, 'rows written add up across replicas')
  t.comment(`replica a wrote ${byA} rows, replica b ${byB}`)
})

t.test('an entry that can never be stored is terminated and published to the dead-letter subject with its reason', async (t) => {
  const { ctx, logs, app } = await build(t)
  const subjects = chatSubjects(ctx.ns)
  const dead: Msg[] = []
  const sub = ctx.nc.subscribe(subjects.deadLetter, { callback: (_err, msg) => { dead.push(msg) } })
  t.teardown(() => { sub.unsubscribe() })
  await ctx.nc.flush()

  const conversationId = directConversationId(alice, bob)
  const good = directMessage(alice, bob)
  const publish = async (subject: string, payload: string | Uint8Array) => (await ctx.js.publish(subject, payload, { msgID: randomUUID() })).seq
  const poisons: Array<[string, number]> = [
    ['not JSON', await publish(subjects.message(conversationId), '{"id":')],
    ['not UTF-8', await publish(subjects.message(conversationId), new Uint8Array([0xff, 0xfe]))],
    ['no body', await publish(subjects.message(conversationId), JSON.stringify({ ...directMessage(alice, bob), body: undefined }))],
    ['unknown subject', await publish(ctx.ns.subject('chat', 'reaction', conversationId), JSON.stringify(directMessage(alice, bob)))],
    ['subject of another conversation', await publish(subjects.message(directConversationId(alice, carol)), JSON.stringify(directMessage(alice, bob)))],
    ['sender not a member', await publish(subjects.message(conversationId), JSON.stringify({ ...directMessage(alice, bob), senderId: carol }))],
    ['non-canonical direct id', await publish(subjects.message(`dm_${bob}_${alice}`), JSON.stringify({ ...directMessage(alice, bob), conversationId: `dm_${bob}_${alice}` }))],
    ['too large', await publish(subjects.message(conversationId), JSON.stringify(directMessage(alice, bob, { blob: 'x'.repeat(70_000) })))],
    // Valid by the schema, rejected by PostgreSQL (jsonb has no \u0000): found by storing one at a time.
    ['NUL in the body', await publish(subjects.message(conversationId), JSON.stringify(directMessage(alice, bob, { text: 'a\u0000b' })))]
  ]
  const goodSeq = await ctx.send(good)

  await until(() => dead.length === poisons.length && true, 20_000, 'every poison dead-lettered')
  const bySeq = new Map(dead.map((m) => [Number(m.headers?.get(DeadLetterHeaders.streamSeq)), m]))
  for (const [what, seq] of poisons) {
    const m = bySeq.get(seq)
    t.ok(m, `${what}: dead-lettered`)
    t.ok((m?.headers?.get(DeadLetterHeaders.reason) ?? '') !== '', `${what}: with a reason (${m?.headers?.get(DeadLetterHeaders.reason).slice(0, 80) ?? ''})`)
  }
  t.match(bySeq.get(poisons[8]?.[1] ?? 0)?.headers?.get(DeadLetterHeaders.reason), /rejected by the database/)
  t.match(bySeq.get(poisons[5]?.[1] ?? 0)?.headers?.get(DeadLetterHeaders.reason), /not a member/)
  t.same(bySeq.get(poisons[0]?.[1] ?? 0)?.string(), '{"id":', 'the original payload, byte for byte')

  // Kept in DEADLETTER too, and logged.
  const info = await ctx.jsm.streams.info(ctx.ns.stream('DEADLETTER'))
  t.equal(info.state.messages, poisons.length, 'stored in the DEADLETTER stream')
  t.equal(logs.entries().filter((e) => e.msg === 'message dead-lettered: it can never be stored').length, poisons.length, 'each one logged')

  // Terminated, not waiting for redelivery: the good message is stored and the position passes them all.
  // (The good one may commit after the last dead letter went out: the
  // batch holding the NUL is stored one by one.)
  await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough === goodSeq, 10_000, 'position past the dead letters')
  t.same((await ctx.messages()).map((r) => r.seq), [goodSeq])
  const consumer = await ctx.jsm.consumers.info(ctx.ns.stream('CHAT'), ctx.ns.consumer('writer'))
  t.equal(consumer.num_ack_pending, 0, 'nothing left pending')
  t.match((await app.inject('/metrics')).body, /writer_dead_letters_total\{stream="chat",category="invalid_json"[^}]*\} 2/)
})

t.test('a database error naks the batch with backoff and nothing is lost', async (t) => {
  const { ctx, logs } = await build(t)
  await ctx.send(directMessage(alice, bob))
  await rows(ctx, 1)

  await ctx.sql.query('alter table chat.messages rename to messages_away')
  const sent = new Map<string, number>()
  for (let i = 0; i < 5; i++) {
    const m = directMessage(bob, alice, { i })
    sent.set(m.id, await ctx.send(m))
  }
  await until(() => logs.lines.some((l) => l.includes('could not write a batch')), 10_000, 'the failure to be logged')
  await ctx.sql.query('alter table chat.messages_away rename to messages')

  const stored = await rows(ctx, 6)
  t.equal(stored.length, 6)
  for (const [id, seq] of sent) t.ok(stored.some((r) => r.id === id && r.seq === seq), `message ${seq} stored after the outage`)
})

t.test('storedThrough never passes a seq that is not committed', async (t) => {
  const { ctx } = await build(t)
  const before = await burst(ctx, 20)
  await rows(ctx, 20)
  await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough === 20, 10_000, 'position 20')

  // Hold the writer's inserts: the next batch cannot commit.
  const blocker = await ctx.sql.connect()
  await blocker.query('begin')
  await blocker.query('lock table chat.messages in share mode')
  const held = await burst(ctx, 30)
  const maxHeld = Math.max(...held.values())
  // Give the writer every chance to (wrongly) report them.
  await until(async () => {
    const c = await ctx.jsm.consumers.info(ctx.ns.stream('CHAT'), ctx.ns.consumer('writer'))
    return c.delivered.stream_seq === maxHeld
  }, 10_000, 'the held messages to be delivered to the writer')
  t.equal((await ctx.rpc.call('writer.position', {})).storedThrough, 20, 'position stays at the last commit')
  const since = await ctx.rpc.call('messages.since', { userId: alice, after: 0 })
  t.equal(since.storedThrough, 20)
  t.ok(since.items.every((m) => m.seq <= 20))
  await blocker.query('commit')
  blocker.release()

  // While a burst is written, every position read is fully in PostgreSQL.
  const publishing = burst(ctx, 1_000)
  let checks = 0
  let done = false
  void publishing.then(() => { done = true })
  while (!done || (await ctx.messages()).length < 1_050) {
    const { storedThrough } = await ctx.rpc.call('writer.position', {})
    const { rows: [count] } = await ctx.sql.query<{ n: string }>('select count(*) as n from chat.messages where seq <= $1', [storedThrough])
    if (Number(count?.n) !== storedThrough) t.fail(`position ${storedThrough} but only ${count?.n} rows at or below it`)
    checks++
  }
  t.ok(checks > 0, `${checks} positions checked during the burst`)
  t.equal(before.size + (await publishing).size + held.size, 1_050)
  await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough === 1_050, 10_000, 'the position to reach the last message')
})
