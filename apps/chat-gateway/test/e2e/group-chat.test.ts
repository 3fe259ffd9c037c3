import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { Conversation, GroupChangeResponse } from '@metadome/contracts'
import { until, type Teardown } from '@metadome/testing'
import type { StackGateway } from '@metadome/e2e'
import { startStack, type Stack } from '../helpers/stack.js'
import { build } from '../helpers/gateway.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest, say } from '../helpers/rest.js'

// Groups end to end: the real writer, three gateways in this process.

async function three (t: Teardown): Promise<{ s: Stack, gateways: [StackGateway, StackGateway, StackGateway] }> {
  const s = await startStack(t)
  const c = await build(t, { AUTH_URL: s.jwks.url, NATS_NAMESPACE: s.nats.ns.prefix })
  return { s, gateways: [s.a, s.b, c] }
}

t.test('three users on three gateways; a fourth added mid-conversation; a member removed; who may do what', async (t) => {
  const { s, gateways: [ga, gb, gc] } = await three(t)
  const [alice, bob, carol, dave, eve] = await Promise.all([s.user(), s.user(), s.user(), s.user(), s.user()])
  const A = await TestSocket.ready(ga.wsUrl, s.jwks.token(alice))
  const B = await TestSocket.ready(gb.wsUrl, s.jwks.token(bob))
  const C = await TestSocket.ready(gc.wsUrl, s.jwks.token(carol))
  const D = await TestSocket.ready(gc.wsUrl, s.jwks.token(dave))
  const E = await TestSocket.ready(ga.wsUrl, s.jwks.token(eve))

  const created = await rest<GroupChangeResponse>(s, ga, alice, 'POST', '/v1/conversations', { title: 'Team', members: [bob, carol] })
  t.equal(created.status, 201)
  const group = created.body.conversation.id
  t.same(created.body.conversation.members, [alice, bob, carol].sort())
  t.same(created.body.conversation.roles, { [alice]: 'owner', [bob]: 'member', [carol]: 'member' })
  for (const socket of [A, B, C]) {
    const f = await socket.next('conversation', (c) => c.conversation.id === group)
    t.equal(f.change?.type, 'created')
  }

  const m1 = await say(A, group, { n: 1 })
  for (const socket of [B, C]) t.equal((await socket.next('message')).message.seq, m1)
  const m2 = await say(C, group, { n: 2 })
  for (const socket of [A, B]) t.equal((await socket.next('message')).message.seq, m2)

  // A non-member cannot send, read or manage.
  E.send({ type: 'send', id: randomUUID(), conversationId: group, body: { n: 0 }, ref: 'e1' })
  t.equal((await E.next('error', (e) => e.ref === 'e1')).code, 'forbidden')
  t.equal((await rest(s, ga, eve, 'GET', `/v1/conversations/${group}/messages`)).status, 403)
  // A member cannot add or remove; the owner makes Bob an admin, who can.
  B.send({ type: 'group', op: 'remove', conversationId: group, userId: carol, ref: 'b1' })
  t.equal((await B.next('error', (e) => e.ref === 'b1')).code, 'forbidden')
  t.equal((await rest(s, gb, bob, 'POST', `/v1/conversations/${group}/members`, { userId: dave })).status, 403)
  A.send({ type: 'group', op: 'role', conversationId: group, userId: bob, role: 'admin', ref: 'a1' })
  t.equal((await A.next('conversation', (c) => c.ref === 'a1')).conversation.roles?.[bob], 'admin')
  await B.next('conversation', (c) => c.change?.type === 'role_changed')

  // Dave is added mid-conversation: he gets the group, then messages after his joining only.
  const added = await rest<GroupChangeResponse>(s, gb, bob, 'POST', `/v1/conversations/${group}/members`, { userId: dave })
  t.equal(added.status, 200)
  const joined = await D.next('conversation', (c) => c.conversation.id === group)
  t.equal(joined.change?.type, 'member_added')
  t.equal(joined.change?.seq, added.body.seq)
  for (const socket of [A, C]) t.equal((await socket.next('conversation', (c) => c.change?.type === 'member_added')).change?.userId, dave)
  const m3 = await say(A, group, { n: 3 })
  t.equal((await D.next('message')).message.seq, m3)
  // History is what the writer stored (a message is live before that).
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= m3, 10_000, 'the writer to store it')
  const history = await rest<{ items: Array<{ seq: number }> }>(s, gc, dave, 'GET', `/v1/conversations/${group}/messages`)
  t.same(history.body.items.map((m) => m.seq), [m3], 'history from his joining on')
  t.notOk(D.frames.some((f) => f.type === 'message' && f.message.seq < added.body.seq), 'nothing from before')

  // Carol is removed mid-burst by an admin: nothing after the removal reaches her.
  const burst: Array<Promise<number>> = []
  for (let i = 0; i < 10; i++) burst.push(say(A, group, { burst: i }))
  const removal = rest<GroupChangeResponse>(s, gb, bob, 'DELETE', `/v1/conversations/${group}/members/${carol}`)
  for (let i = 10; i < 20; i++) burst.push(say(A, group, { burst: i }))
  const seqs = await Promise.all(burst)
  const removed = await removal
  t.equal(removed.status, 200)
  t.notOk(removed.body.conversation.members.includes(carol))
  const gone = await C.next('conversation', (c) => c.change?.type === 'member_removed')
  t.equal(gone.change?.seq, removed.body.seq)
  const after = await say(A, group, { n: 'after' })
  await B.next('message', (f) => f.message.seq === after)
  await D.next('message', (f) => f.message.seq === after)
  // Carol's socket has caught up with everything before `after` once a ping round trip is done after it.
  C.send({ type: 'ping', ref: 'p' })
  await C.next('pong')
  const carolSeqs = C.frames.flatMap((f) => f.type === 'message' && f.message.seq > m3 ? [f.message.seq] : [])
  t.same(carolSeqs, seqs.filter((q) => q < removed.body.seq).sort((x, y) => x - y), 'Carol got the burst up to her removal, nothing after')
  const bobSeqs = B.frames.flatMap((f) => f.type === 'message' && f.message.seq > m3 ? [f.message.seq] : [])
  t.same(bobSeqs, [...seqs].sort((x, y) => x - y), 'Bob got all of it once')
  C.send({ type: 'send', id: randomUUID(), conversationId: group, body: { n: 'late' }, ref: 'c1' })
  t.equal((await C.next('error', (e) => e.ref === 'c1')).code, 'forbidden', 'a removed member cannot send')
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= after, 10_000, 'the writer to store it all')
  const carolHistory = await rest<{ items: Array<{ seq: number }> }>(s, gc, carol, 'GET', `/v1/conversations/${group}/messages?limit=100`)
  t.ok(carolHistory.body.items.every((m) => m.seq < removed.body.seq), 'history ends at the removal')
  C.send({ type: 'sync', after: m3, ref: 's' })
  await C.next('synced', (f) => f.ref === 's')
  t.ok(C.frames.every((f) => f.type !== 'message' || f.message.seq < removed.body.seq), 'sync brings nothing after the removal')

  // Leaving: the owner leaves, Bob (the oldest admin) becomes the owner.
  const left = await rest<GroupChangeResponse>(s, ga, alice, 'DELETE', `/v1/conversations/${group}/members/${alice}`)
  t.equal(left.body.conversation.roles?.[bob], 'owner')
  t.equal((await B.next('conversation', (c) => c.change?.type === 'member_left')).conversation.roles?.[bob], 'owner')

  for (const socket of [A, B, C, D, E]) socket.close()
})

t.test('over-size creation is refused; unread counts survive a reconnect', async (t) => {
  const { s, gateways: [ga, gb] } = await three(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const tooMany = Array.from({ length: 1024 }, () => randomUUID())
  const refused = await rest<{ error: { code: string } }>(s, ga, alice, 'POST', '/v1/conversations', { title: 'Crowd', members: tooMany })
  t.equal(refused.status, 413)
  t.equal(refused.body.error.code, 'too_large')

  const group = (await rest<GroupChangeResponse>(s, ga, alice, 'POST', '/v1/conversations', { title: 'Pair', members: [bob] })).body.conversation.id
  const A = await TestSocket.ready(ga.wsUrl, s.jwks.token(alice))
  let B = await TestSocket.ready(gb.wsUrl, s.jwks.token(bob))
  const first = await say(A, group, { n: 1 })
  await B.next('message')
  B.send({ type: 'receipt', conversationId: group, seq: first, kind: 'read', ref: 'r' })
  await until(() => A.frames.some((f) => f.type === 'receipt' && f.kind === 'read' && f.userId === bob) || B.frames.find((f) => f.type === 'error'), 10_000, 'the receipt')
  t.same(B.frames.filter((f) => f.type === 'error'), [], 'no error')
  await A.next('receipt', (r) => r.kind === 'read' && r.userId === bob)
  B.close()
  for (let i = 0; i < 3; i++) await say(A, group, { n: i })
  B = await TestSocket.ready(gb.wsUrl, s.jwks.token(bob))
  const last = await say(A, group, { n: 'last' })
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= last, 10_000, 'the writer to store it all')
  B.send({ type: 'conversations', ref: 'l' })
  const list = await B.next('conversations')
  const mine = list.items.find((c: Conversation) => c.id === group)
  t.equal(mine?.unread, 4, 'four unread after the read cursor')
  t.equal(mine?.lastSeq, last)
  t.equal(mine?.reads?.[bob], first, 'the read receipt is on the conversation')
  A.close()
  B.close()
})

t.test('a 200-member group gets every message to every member exactly once', async (t) => {
  const { s, gateways } = await three(t)
  const users = await Promise.all(Array.from({ length: 200 }, async () => await s.user()))
  const [owner] = users as [string]
  const sockets = await Promise.all(users.map(async (u, i) => await TestSocket.ready((gateways[i % 3] as StackGateway).wsUrl, s.jwks.token(u))))
  const created = await rest<GroupChangeResponse>(s, gateways[0], owner, 'POST', '/v1/conversations', { title: 'Crowd', members: users.slice(1) })
  t.equal(created.status, 201)
  const group = created.body.conversation.id
  await Promise.all(sockets.map(async (socket) => await socket.next('conversation', (c) => c.conversation.id === group)))
  const sender = sockets[1] as TestSocket
  const seqs: number[] = []
  for (let i = 0; i < 5; i++) seqs.push(await say(sender, group, { i }))
  const got = await Promise.all(sockets.map(async (socket, i) => i === 1 ? seqs : (await socket.take('message', 5)).map((f) => f.message.seq)))
  t.ok(got.every((g) => g.join() === seqs.join()), 'every member got the five messages in order')
  let exact = 0
  for (const [i, socket] of sockets.entries()) {
    if (i === 1) continue
    socket.send({ type: 'ping', ref: 'p' })
    await socket.next('pong')
    if (socket.frames.filter((f) => f.type === 'message').length === 0) exact++
  }
  t.equal(exact, 199, 'no member got a message twice')
  for (const socket of sockets) socket.close()
})
