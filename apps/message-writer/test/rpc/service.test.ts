import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Compile } from 'typebox/compile'
import { ChatRpcMethods, MEMBERSHIPS_BATCH_MAX_USERS, MEMBERSHIPS_BATCH_PER_USER, chatSubjects, directConversationId, type ChatRpcMethod, type ChatRpcRequest, type ChatRpcResult } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { build, directMessage, type WriterContext } from '../helper.js'

// Every method through NATS against a real writer: the results are checked
// against the contract's result schemas, the failures by their codes.

const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'
const carol = '2c9e3b5a-4d6f-4081-8cbd-2e3f4a5b6c7d'
const nobody = '3daf4c6b-5e70-4192-9dce-3f4a5b6c7d8e'
const group = '4eb05d7c-6f81-42a3-8edf-4a5b6c7d8e9f'

const aliceBob = directConversationId(alice, bob)
const aliceCarol = directConversationId(alice, carol)

async function call<M extends ChatRpcMethod> (ctx: WriterContext, method: M, request: ChatRpcRequest<M>): Promise<ChatRpcResult<M>> {
  const result = await ctx.rpc.call(method, request)
  const check = Compile(ChatRpcMethods[method].result)
  if (!check.Check(result)) throw new Error(`${method} result breaks the contract: ${JSON.stringify([...check.Errors(result)][0])}`)
  return result
}

t.test('chat RPC', async (t) => {
  const { ctx, app } = await build(t)
  await ctx.userEvent('registered', { id: alice, username: 'alice', displayName: 'Alice' })
  await ctx.userEvent('registered', { id: bob, username: 'bob', displayName: 'Bob' })
  await ctx.userEvent('registered', { id: carol, username: 'carol', displayName: 'Carol' })
  // Alice and Bob exchange 7 messages, Alice and Carol 3 (seqs 1..10).
  const seqs: number[] = []
  for (let i = 0; i < 10; i++) {
    const m = i < 7 ? directMessage(i % 2 === 0 ? alice : bob, i % 2 === 0 ? bob : alice, { i }) : directMessage(carol, alice, { i })
    seqs.push(await ctx.send(m))
  }
  await until(async () => (await ctx.messages()).length === 10, 10_000, 'the messages to be stored')
  await until(async () => (await ctx.rpc.call('users.get', { userId: carol })).user !== null, 10_000, 'the users projection')
  // A group as issue 5 will make it: Alice admin, Bob member since seq 5 and gone at seq 8.
  await ctx.sql.query(`insert into chat.conversations (id, kind, title, created_at) values ($1, 'group', 'Team', now())`, [group])
  await ctx.sql.query(`insert into chat.members (conversation_id, user_id, role, joined_seq, left_seq) values ($1, $2, 'admin', 0, null), ($1, $3, 'member', 5, 8)`, [group, alice, bob])
  await ctx.sql.query(`insert into chat.messages (id, seq, conversation_id, sender_id, sent_at, body)
    select gen_random_uuid(), 100 + g, $1, $2, now(), '{"g": true}' from generate_series(1, 10) g`, [group, alice])

  await t.test('users.get answers the projection, null for an unknown user', async (t) => {
    t.same(await call(ctx, 'users.get', { userId: alice }), { user: { id: alice, username: 'alice', displayName: 'Alice' } })
    t.same(await call(ctx, 'users.get', { userId: nobody }), { user: null })
    await t.rejects(ctx.rpc.call('users.get', { userId: 'alice' }), { code: 'bad_request' })
  })

  await t.test('conversations.list: the caller\'s conversations, newest activity first, with members', async (t) => {
    const { items } = await call(ctx, 'conversations.list', { userId: alice })
    t.same(items.map((c) => [c.id, c.kind, c.lastSeq]), [[group, 'group', 110], [aliceCarol, 'direct', seqs[9]], [aliceBob, 'direct', seqs[6]]])
    t.same(items.find((c) => c.id === aliceBob)?.members, [alice, bob].sort())
    t.same(items.find((c) => c.id === group)?.title, 'Team')
    t.same(items.find((c) => c.id === group)?.members, [alice], 'members now: Bob left')
    t.same((await call(ctx, 'conversations.list', { userId: nobody })).items, [])
    await t.rejects(ctx.rpc.call('conversations.list', {} as never), { code: 'bad_request' })
  })

  await t.test('conversations.membershipsOf: the first page of each user\'s memberships, by id, in one request', async (t) => {
    const { users } = await call(ctx, 'conversations.membershipsOf', { userIds: [alice, bob, nobody, alice] })
    t.same(users.map((u) => u.userId), [alice, bob, nobody], 'each user once, in the order asked')
    t.same(users[0]?.items, [{ conversationId: group, joinedSeq: 0 }, { conversationId: aliceBob, joinedSeq: 0 }, { conversationId: aliceCarol, joinedSeq: 0 }].sort((a, b) => a.conversationId < b.conversationId ? -1 : 1))
    t.same(users[1]?.items, [{ conversationId: aliceBob, joinedSeq: 0 }], 'not the group Bob left')
    t.same(users[2], { userId: nobody, items: [] }, 'none for a stranger, and no next page')
    for (const u of users) {
      const single = await call(ctx, 'conversations.memberships', { userId: u.userId })
      t.same(u.items, single.items, 'the same as conversations.memberships')
    }
    const upper = await call(ctx, 'conversations.membershipsOf', { userIds: [bob.toUpperCase()] })
    t.same(upper.users, [{ userId: bob, items: [{ conversationId: aliceBob, joinedSeq: 0 }] }], 'an id in upper case is the same user')
    await t.rejects(ctx.rpc.call('conversations.membershipsOf', { userIds: [] }), { code: 'bad_request' })
    await t.rejects(ctx.rpc.call('conversations.membershipsOf', { userIds: Array.from({ length: MEMBERSHIPS_BATCH_MAX_USERS + 1 }, () => randomUUID()) }), { code: 'bad_request' })
    await t.rejects(ctx.rpc.call('conversations.membershipsOf', { userIds: ['alice'] }), { code: 'bad_request' })
  })

  await t.test('conversations.membershipsOf: past the per-user limit a next page; past the max payload, users are left out', async (t) => {
    // MEMBERSHIPS_BATCH_MAX_USERS users in MEMBERSHIPS_BATCH_PER_USER + 1
    // direct conversations each: about 11 KiB of items per user, more than
    // NATS's 1 MiB for all of them.
    const many = Array.from({ length: MEMBERSHIPS_BATCH_MAX_USERS }, () => randomUUID())
    await ctx.sql.query(`
      with pairs as (
        select u, gen_random_uuid() as other from unnest($1::uuid[]) u, generate_series(1, $2::int)
      ), ids as (
        select u, 'dm_' || least(u::text, other::text) || '_' || greatest(u::text, other::text) as id from pairs
      ), conversations as (
        insert into chat.conversations (id, kind, created_at) select id, 'direct', now() from ids returning id
      )
      insert into chat.members (conversation_id, user_id, role, joined_seq) select id, u, 'member', 0 from ids`, [many, MEMBERSHIPS_BATCH_PER_USER + 1])
    const { users } = await call(ctx, 'conversations.membershipsOf', { userIds: many })
    t.ok(users.length > 0 && users.length < many.length, `${users.length} of ${many.length} users fit in one reply`)
    t.same(users.map((u) => u.userId), many.slice(0, users.length), 'the first ones, in the order asked')
    const [first] = users
    t.equal(first?.items.length, MEMBERSHIPS_BATCH_PER_USER)
    t.equal(first?.nextAfterId, first?.items.at(-1)?.conversationId, 'a next page, from the last item')
    const rest = await call(ctx, 'conversations.memberships', { userId: many[0] as string, afterId: first?.nextAfterId })
    t.equal(rest.items.length, 1, 'the rest through conversations.memberships')
    t.equal(rest.nextAfterId, undefined)
  })

  await t.test('conversations.get: a member gets it with their role', async (t) => {
    const { conversation, role } = await call(ctx, 'conversations.get', { conversationId: aliceBob, userId: bob })
    t.equal(role, 'member')
    t.match(conversation, { id: aliceBob, kind: 'direct', members: [alice, bob].sort(), lastSeq: seqs[6] })
    t.equal((await call(ctx, 'conversations.get', { conversationId: group, userId: alice })).role, 'admin')
  })

  await t.test('conversations.get: a direct conversation with no message yet exists once both users do', async (t) => {
    const id = directConversationId(bob, carol)
    const { conversation, role } = await call(ctx, 'conversations.get', { conversationId: id, userId: bob })
    t.equal(role, 'member')
    t.match(conversation, { id, kind: 'direct', members: [bob, carol].sort(), lastSeq: 0 })
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: directConversationId(bob, nobody), userId: bob }), { code: 'not_found' }, 'the other user does not exist')
  })

  await t.test('conversations.get: forbidden to a non-member, not_found for no such group, bad_request for a non-canonical id', async (t) => {
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: aliceBob, userId: carol }), { code: 'forbidden' })
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: group, userId: carol }), { code: 'forbidden' })
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: group, userId: bob }), { code: 'forbidden' }, 'a member who left')
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: randomUUID(), userId: alice }), { code: 'not_found' })
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: `dm_${bob}_${alice}`, userId: alice }), { code: 'bad_request' })
    await t.rejects(ctx.rpc.call('conversations.get', { conversationId: 'general', userId: alice }), { code: 'bad_request' })
  })

  await t.test('messages.history pages newest first', async (t) => {
    const first = await call(ctx, 'messages.history', { conversationId: aliceBob, userId: alice, limit: 3 })
    t.same(first.items.map((m) => m.seq), [seqs[6], seqs[5], seqs[4]])
    t.equal(first.hasMore, true)
    t.match(first.items[0], { conversationId: aliceBob, senderId: alice, body: { i: 6 } })
    const rest = await call(ctx, 'messages.history', { conversationId: aliceBob, userId: bob, before: seqs[4], limit: 10 })
    t.same(rest.items.map((m) => m.seq), [seqs[3], seqs[2], seqs[1], seqs[0]])
    t.equal(rest.hasMore, false)
    const all = await call(ctx, 'messages.history', { conversationId: aliceBob, userId: bob })
    t.equal(all.items.length, 7, 'limit defaults to 50')
    t.same((await call(ctx, 'messages.history', { conversationId: directConversationId(bob, carol), userId: carol })).items, [], 'no message yet')
  })

  await t.test('messages.history of a group shows a former member what they saw while a member', async (t) => {
    t.same((await call(ctx, 'messages.history', { conversationId: group, userId: bob })).items.map((m) => m.seq), [], 'group seqs 101.. are after Bob left at 8')
    await ctx.sql.query('update chat.members set left_seq = 105 where conversation_id = $1 and user_id = $2', [group, bob])
    t.same((await call(ctx, 'messages.history', { conversationId: group, userId: bob })).items.map((m) => m.seq), [105, 104, 103, 102, 101])
    t.equal((await call(ctx, 'messages.history', { conversationId: group, userId: alice })).items.length, 10)
  })

  await t.test('messages.history errors', async (t) => {
    await t.rejects(ctx.rpc.call('messages.history', { conversationId: aliceBob, userId: carol }), { code: 'forbidden' })
    await t.rejects(ctx.rpc.call('messages.history', { conversationId: group, userId: carol }), { code: 'forbidden' })
    await t.rejects(ctx.rpc.call('messages.history', { conversationId: randomUUID(), userId: alice }), { code: 'not_found' })
    await t.rejects(ctx.rpc.call('messages.history', { conversationId: aliceBob, userId: alice, limit: 101 }), { code: 'bad_request' })
    await t.rejects(ctx.rpc.call('messages.history', { conversationId: aliceBob, userId: alice, limit: 0 }), { code: 'bad_request' })
    await t.rejects(ctx.rpc.call('messages.history', { conversationId: aliceBob, userId: alice, before: 0 }), { code: 'bad_request' })
  })

  await t.test('messages.since: every conversation of the user, ascending, up to storedThrough, in pages', async (t) => {
    const all = await call(ctx, 'messages.since', { userId: alice, after: 0 })
    t.equal(all.storedThrough, 10, 'the stream position, not the hand-made group rows')
    t.same(all.items.map((m) => m.seq), seqs)
    t.equal(all.hasMore, false)
    const page = await call(ctx, 'messages.since', { userId: alice, after: seqs[2] as number, limit: 4 })
    t.same(page.items.map((m) => m.seq), seqs.slice(3, 7))
    t.equal(page.hasMore, true)
    t.same((await call(ctx, 'messages.since', { userId: carol, after: 0 })).items.map((m) => m.seq), seqs.slice(7))
    t.same(await call(ctx, 'messages.since', { userId: nobody, after: 0 }), { items: [], storedThrough: 10, hasMore: false })
    t.same((await call(ctx, 'messages.since', { userId: alice, after: 500 })).items, [], 'a cursor ahead of the writer')
    await t.rejects(ctx.rpc.call('messages.since', { userId: alice, after: -1 }), { code: 'bad_request' })
    await t.rejects(ctx.rpc.call('messages.since', { userId: alice, after: 0, limit: 1001 }), { code: 'bad_request' })
  })

  await t.test('receipts.read stores the read cursor, which never moves backwards', async (t) => {
    const cursor = async () => (await ctx.sql.query<{ seq: string }>('select seq from chat.read_cursors where conversation_id = $1 and user_id = $2', [aliceBob, bob])).rows[0]?.seq
    t.same(await call(ctx, 'receipts.read', { conversationId: aliceBob, userId: bob, seq: 5 }), {})
    t.equal(Number(await cursor()), 5)
    await call(ctx, 'receipts.read', { conversationId: aliceBob, userId: bob, seq: 3 })
    t.equal(Number(await cursor()), 5, 'not backwards')
    await call(ctx, 'receipts.read', { conversationId: aliceBob, userId: bob, seq: 7 })
    t.equal(Number(await cursor()), 7)
    await t.rejects(ctx.rpc.call('receipts.read', { conversationId: aliceBob, userId: carol, seq: 7 }), { code: 'forbidden' })
    await t.rejects(ctx.rpc.call('receipts.read', { conversationId: randomUUID(), userId: alice, seq: 7 }), { code: 'not_found' })
    await t.rejects(ctx.rpc.call('receipts.read', { conversationId: aliceBob, userId: bob, seq: 0 }), { code: 'bad_request' })
  })

  await t.test('writer.position', async (t) => {
    t.same(await call(ctx, 'writer.position', {}), { storedThrough: 10 })
    await t.rejects(ctx.rpc.call('writer.position', { extra: 1 } as never), { code: 'bad_request' }, 'unknown properties are rejected')
  })

  await t.test('garbage never crashes the service: it gets bad_request', async (t) => {
    const subjects = chatSubjects(ctx.ns)
    for (const payload of ['', 'not json', '[]', 'null', '42', '{"userId":{"$gt":""}}']) {
      const reply = await ctx.nc.request(subjects.rpc('users.get'), payload, { timeout: 2_000 })
      t.match(reply.json(), { ok: false, error: { code: 'bad_request' } }, JSON.stringify(payload))
    }
    t.same(await call(ctx, 'users.get', { userId: bob }), { user: { id: bob, username: 'bob', displayName: 'Bob' } }, 'still answering')
  })

  await t.test('a page of large messages is cut to fit the NATS max payload, with hasMore', async (t) => {
    const big = 'x'.repeat(60_000)
    for (let i = 0; i < 20; i++) await ctx.send(directMessage(bob, carol, { big, i }))
    await until(async () => (await ctx.messages()).length === 40, 10_000, 'the large messages')
    const id = directConversationId(bob, carol)
    const page = await call(ctx, 'messages.history', { conversationId: id, userId: bob, limit: 20 })
    t.ok(page.items.length < 20 && page.items.length > 5, `${page.items.length} items fit`)
    t.equal(page.hasMore, true)
    const next = await call(ctx, 'messages.history', { conversationId: id, userId: bob, before: page.items.at(-1)?.seq, limit: 20 })
    t.equal(page.items.length + next.items.length, 20, 'the next page has the rest')
    await until(async () => (await ctx.rpc.call('writer.position', {})).storedThrough === 30, 10_000)
    const since = await call(ctx, 'messages.since', { userId: carol, after: 10 })
    t.ok(since.hasMore && since.items.length < 20)
  })

  await t.test('RPC latency is measured by method and code', async (t) => {
    const text = (await app.inject('/metrics')).body
    t.match(text, /writer_rpc_duration_seconds_count\{[^}]*method="users.get",code="ok"[^}]*\} \d+/)
    t.match(text, /writer_rpc_duration_seconds_count\{[^}]*method="conversations.get",code="forbidden"[^}]*\} \d+/)
    t.match(text, /writer_rpc_duration_seconds_count\{[^}]*method="users.get",code="bad_request"[^}]*\} \d+/)
  })
})

t.test('a database outage is unavailable, not a crash', async (t) => {
  const { ctx } = await build(t)
  await ctx.sql.query('alter table chat.users rename to users_away')
  await t.rejects(ctx.rpc.call('users.get', { userId: alice }), { code: 'unavailable' })
  await ctx.sql.query('alter table chat.users_away rename to users')
  t.same(await ctx.rpc.call('users.get', { userId: alice }), { user: null })
})
