import t from 'tap'
import { randomUUID } from 'node:crypto'
import { directConversationId, type Message } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'

t.test('Alice on gateway A and Bob on gateway B exchange messages both ways, on every socket', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const conversationId = directConversationId(alice, bob)
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const aliceB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(alice))
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const bobA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(bob))

  // A first message: nobody's gateway follows this conversation yet.
  const first = randomUUID()
  aliceA.send({ type: 'send', id: first, to: bob, body: { text: 'hi Bob' }, ref: 'm1' })
  const ack = await aliceA.next('ack')
  t.equal(ack.id, first)
  t.equal(ack.conversationId, conversationId)
  t.equal(ack.ref, 'm1')
  t.type(ack.seq, 'number')
  for (const [name, socket] of [['Bob on B', bobB], ['Bob on A', bobA], ["Alice's other socket", aliceB]] as const) {
    const { message } = await socket.next('message')
    t.same(message, { id: first, conversationId, senderId: alice, seq: ack.seq, sentAt: ack.sentAt, body: { text: 'hi Bob' } }, name)
  }

  const reply = randomUUID()
  bobB.send({ type: 'send', id: reply, conversationId, body: { text: 'hi Alice' } })
  const replyAck = await bobB.next('ack')
  t.ok(replyAck.seq > ack.seq)
  for (const socket of [aliceA, aliceB, bobA]) {
    t.equal((await socket.next('message')).message.id, reply)
  }

  const more = randomUUID()
  aliceA.send({ type: 'send', id: more, to: bob, body: { n: 3 } })
  await aliceA.next('ack')
  for (const socket of [bobA, bobB, aliceB]) t.equal((await socket.next('message')).message.id, more)

  // Each socket got each message once; the sender's own socket gets acks, not copies.
  await until(async () => {
    aliceA.send({ type: 'ping' })
    await aliceA.next('pong')
    return true
  })
  t.same(aliceA.frames.filter((f) => f.type === 'message'), [])
  for (const socket of [aliceA, aliceB, bobA, bobB]) socket.close()
})

t.test('a duplicate send, to this or another gateway, gives one message and the same ack', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const aliceB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(alice))
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const id = randomUUID()
  aliceA.send({ type: 'send', id, to: bob, body: { text: 'once' } })
  const ack = await aliceA.next('ack')
  aliceA.send({ type: 'send', id, to: bob, body: { text: 'once' } })
  const again = await aliceA.next('ack')
  aliceB.send({ type: 'send', id, to: bob, body: { text: 'once' } })
  const elsewhere = await aliceB.next('ack')
  t.same(again, ack, 'the same ack from the same gateway')
  t.same(elsewhere, ack, 'the same ack from another gateway')

  const after = randomUUID()
  aliceA.send({ type: 'send', id: after, to: bob, body: { text: 'next' } })
  await aliceA.next('ack')
  await bobB.next('message', (f) => f.message.id === after)
  t.same(bobB.frames.filter((f) => f.type === 'message').map((f) => f.type === 'message' && f.message.id), [id], 'Bob got the message once')
  const rows = await until(async () => {
    const { rows } = await s.sql.query<{ id: string }>('select id from chat.messages where id = $1', [id])
    return rows.length > 0 && rows
  }, 10_000, 'the writer to store it')
  t.equal(rows.length, 1, 'PostgreSQL holds one copy')
  for (const socket of [aliceA, aliceB, bobB]) socket.close()
})

async function sendMany (socket: TestSocket, to: string, n: number): Promise<number[]> {
  const seqs: number[] = []
  for (let i = 0; i < n; i++) {
    const id = randomUUID()
    socket.send({ type: 'send', id, to, body: { n: i } })
    seqs.push((await socket.next('ack', (a) => a.id === id)).seq)
  }
  return seqs
}

async function syncedMessages (socket: TestSocket, after: number): Promise<{ messages: Message[], cursor: number }> {
  socket.send({ type: 'sync', after, ref: 's' })
  const synced = await socket.next('synced')
  const messages = socket.frames.flatMap((f) => f.type === 'message' ? [f.message] : [])
  socket.frames.splice(0, socket.frames.length, ...socket.frames.filter((f) => f.type !== 'message'))
  return { messages, cursor: synced.cursor }
}

t.test('Bob, offline while Alice sends 20, syncs from his cursor and gets exactly those 20 in order', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const [cursor] = await sendMany(aliceA, bob, 1) as [number]

  const seqs = await sendMany(aliceA, bob, 20)
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const { messages, cursor: synced } = await syncedMessages(bobB, cursor)
  t.same(messages.map((m) => m.seq), seqs, 'exactly the 20, in seq order')
  t.same(messages.map((m) => m.body), seqs.map((_s, i) => ({ n: i })))
  t.equal(synced, seqs[19])

  // And live from there: no gap, no duplicate.
  const [live] = await sendMany(aliceA, bob, 1)
  t.equal((await bobB.next('message')).message.seq, live)
  t.same(bobB.frames.filter((f) => f.type === 'message'), [])
  aliceA.close()
  bobB.close()
})

t.test('sync works the same while message-writer is stopped (read from the stream)', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const [cursor] = await sendMany(aliceA, bob, 1) as [number]
  await s.stopWriter()

  const seqs = await sendMany(aliceA, bob, 20)
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const { messages, cursor: synced } = await syncedMessages(bobB, cursor)
  t.same(messages.map((m) => m.seq), seqs)
  t.equal(synced, seqs[19])

  // The writer back: part from PostgreSQL, part from the stream, still exactly once.
  await s.startWriter()
  const bobA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(bob))
  const all = await syncedMessages(bobA, 0)
  t.same(all.messages.map((m) => m.seq), [cursor, ...seqs])
  for (const socket of [aliceA, bobA, bobB]) socket.close()
})

t.test('history pages newest first, over the socket and REST', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const conversationId = directConversationId(alice, bob)
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const seqs = await sendMany(aliceA, bob, 12)
  await until(async () => (await s.rpc.call('conversations.get', { conversationId, userId: alice })).conversation.lastSeq === seqs[11], 10_000, 'the writer to store them')

  aliceA.send({ type: 'history', conversationId, limit: 5, ref: 'h1' })
  const page1 = await aliceA.next('history')
  t.same(page1.items.map((m) => m.seq), seqs.slice(7).reverse())
  t.equal(page1.hasMore, true)
  t.equal(page1.ref, 'h1')
  aliceA.send({ type: 'history', conversationId, limit: 5, before: page1.items[4]?.seq })
  const page2 = await aliceA.next('history')
  t.same(page2.items.map((m) => m.seq), seqs.slice(2, 7).reverse())

  aliceA.send({ type: 'conversations', ref: 'c1' })
  const conversations = await aliceA.next('conversations')
  t.equal(conversations.ref, 'c1')
  t.same(conversations.items.map((c) => [c.id, c.kind, [...c.members].sort(), c.lastSeq]), [[conversationId, 'direct', [alice, bob].sort(), seqs[11]]])

  const res = await fetch(`${s.b.url}/v1/conversations/${conversationId}/messages?limit=5&before=${seqs[2] ?? 0}`, { headers: { authorization: `Bearer ${s.jwks.token(bob)}` } })
  t.equal(res.status, 200)
  const page3 = await res.json() as { items: Message[], hasMore: boolean }
  t.same(page3.items.map((m) => m.seq), seqs.slice(0, 2).reverse())
  t.equal(page3.hasMore, false)
  aliceA.close()
})

t.test('receipts reach the other member; read receipts are stored; typing is relayed', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const conversationId = directConversationId(alice, bob)
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const [seq] = await sendMany(aliceA, bob, 1) as [number]
  await bobB.next('message')
  await until(async () => (await s.rpc.call('conversations.get', { conversationId, userId: bob })).conversation.lastSeq === seq, 10_000, 'the writer to store it')

  bobB.send({ type: 'receipt', conversationId, seq, kind: 'delivered' })
  t.same(await aliceA.next('receipt'), { type: 'receipt', conversationId, userId: bob, seq, kind: 'delivered' })
  bobB.send({ type: 'receipt', conversationId, seq, kind: 'read' })
  t.same(await aliceA.next('receipt'), { type: 'receipt', conversationId, userId: bob, seq, kind: 'read' })
  const { rows } = await s.sql.query<{ seq: string }>('select seq from chat.read_cursors where conversation_id = $1 and user_id = $2', [conversationId, bob])
  t.equal(Number(rows[0]?.seq), seq, 'the read cursor is stored')

  bobB.send({ type: 'typing', conversationId })
  t.same(await aliceA.next('typing'), { type: 'typing', conversationId, userId: bob })
  t.equal(bobB.frames.filter((f) => f.type === 'receipt' || f.type === 'typing').length, 0, 'not echoed to the sender')
  aliceA.close()
  bobB.close()
})

t.test('sending into a conversation one is not in is forbidden; to a user who does not exist, not_found', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const carol = await s.user()
  const carolA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(carol))
  const id = randomUUID()
  carolA.send({ type: 'send', id, conversationId: directConversationId(alice, bob), body: {} })
  const forbidden = await carolA.next('error')
  t.equal(forbidden.code, 'forbidden')
  t.equal(forbidden.ref, id)
  carolA.send({ type: 'send', id: randomUUID(), to: randomUUID(), body: {} })
  t.equal((await carolA.next('error')).code, 'not_found')
  carolA.send({ type: 'receipt', conversationId: directConversationId(alice, bob), seq: 1, kind: 'read' })
  t.equal((await carolA.next('error')).code, 'forbidden')
  carolA.send({ type: 'history', conversationId: directConversationId(alice, bob) })
  t.equal((await carolA.next('error')).code, 'forbidden')
  carolA.close()
})

t.test('REST: conversations, sending by POST (201 ack, same for a repeat), and 401 without a token', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const conversationId = directConversationId(alice, bob)
  const auth = { authorization: `Bearer ${s.jwks.token(alice)}`, 'content-type': 'application/json' }
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const id = randomUUID()
  const post = async (): Promise<Response> => await fetch(`${s.a.url}/v1/conversations/${conversationId}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ id, body: { text: 'by REST' } }) })
  const res = await post()
  t.equal(res.status, 201)
  const ack = await res.json() as { seq: number }
  t.same(await (await post()).json(), ack)
  t.equal((await bobB.next('message')).message.id, id)

  await until(async () => {
    const list = await (await fetch(`${s.a.url}/v1/conversations`, { headers: auth })).json() as { items: Array<{ id: string, lastSeq: number }> }
    return list.items.some((c) => c.id === conversationId && c.lastSeq === ack.seq)
  }, 10_000, 'the conversation to be listed')

  t.equal((await fetch(`${s.a.url}/v1/conversations`)).status, 401)
  const bad = await fetch(`${s.a.url}/v1/conversations/${conversationId}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'nope', body: {} }) })
  t.equal(bad.status, 400)
  t.equal((await bad.json() as { error: { code: string } }).error.code, 'bad_request')
  const big = await fetch(`${s.a.url}/v1/conversations/${conversationId}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ id: randomUUID(), body: { x: 'y'.repeat(70 * 1024) } }) })
  t.equal(big.status, 413)
  const spec = await (await fetch(`${s.a.url}/openapi.json`)).json() as { paths: Record<string, unknown> }
  t.ok(spec.paths['/v1/conversations/{id}/messages'], 'the OpenAPI document lists the routes')
  bobB.close()
})

t.test('REST refuses an expired token and a token signed by someone else with 401', async (t) => {
  const s = await startStack(t)
  const alice = randomUUID()
  for (const token of [s.jwks.token(alice, { expiresIn: -1 }), s.jwks.token(alice, { kid: randomUUID() })]) {
    const res = await fetch(`${s.a.url}/v1/conversations`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(res.status, 401)
    t.equal((await res.json() as { error: { code: string } }).error.code, 'unauthorized')
  }
})
