import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { GroupChangeResponse, MessagesResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest, say } from '../helpers/rest.js'

// The attack: a member removed from a group opens a fresh socket and syncs
// from 0, hoping the catch-up treats the group it finds in their history as
// joined (it did: from then on they got every message and could send).

t.test('a member removed from a group who reconnects and syncs receives nothing of it and cannot send to it', async (t) => {
  const s = await startStack(t)
  const [alice, bob, mallory] = await Promise.all([s.user(), s.user(), s.user()])
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const B = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const M = await TestSocket.ready(s.b.wsUrl, s.jwks.token(mallory))

  const created = await rest<GroupChangeResponse>(s, s.a, alice, 'POST', '/v1/conversations', { title: 'Team', members: [bob, mallory] })
  const group = created.body.conversation.id
  await M.next('conversation', (c) => c.conversation.id === group)
  const before = await say(A, group, { n: 1 })
  t.equal((await M.next('message')).message.seq, before, 'a member gets the group while a member')

  const removed = await rest<GroupChangeResponse>(s, s.a, alice, 'DELETE', `/v1/conversations/${group}/members/${mallory}`)
  t.equal(removed.status, 200)
  await M.next('conversation', (c) => c.change?.type === 'member_removed')
  M.close()
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= removed.body.seq, 10_000, 'the writer to store the removal')

  // On every gateway, by socket and by REST: the fresh socket syncs from 0.
  for (const gateway of [s.a, s.b]) {
    const again = await TestSocket.ready(gateway.wsUrl, s.jwks.token(mallory))
    again.send({ type: 'sync', after: 0, ref: 's' })
    await again.next('synced', (f) => f.ref === 's')
    t.ok(again.frames.every((f) => f.type !== 'message' || f.message.seq < removed.body.seq), 'the sync brings only what was sent while a member')

    const after = await say(A, group, { n: 2 })
    t.equal((await B.next('message', (m) => m.message.seq === after)).message.seq, after, 'members still get the group')
    const id = randomUUID()
    again.send({ type: 'send', id, conversationId: group, body: { forged: true }, ref: id })
    t.equal((await again.next('error', (e) => e.ref === id)).code, 'forbidden', 'a send into the group is refused')
    again.send({ type: 'typing', conversationId: group, ref: 'ty' })
    t.equal((await again.next('error', (e) => e.ref === 'ty')).code, 'forbidden', 'typing is refused')
    again.send({ type: 'receipt', conversationId: group, seq: after, kind: 'read', ref: 'rc' })
    t.equal((await again.next('error', (e) => e.ref === 'rc')).code, 'forbidden', 'receipts are refused')
    // A ping answered is a socket whose earlier frames were all handled.
    again.send({ type: 'ping', ref: 'p' })
    await again.next('pong', (f) => f.ref === 'p')
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.notOk(again.frames.some((f) => f.type === 'message' && f.message.seq > removed.body.seq), 'nothing of the group reaches them live')
    t.notOk(B.frames.some((f) => f.type === 'message' && f.message.senderId === mallory), 'the members got nothing from them')

    const sent = await rest(s, gateway, mallory, 'POST', `/v1/conversations/${group}/messages`, { id: randomUUID(), body: { forged: true } })
    t.equal(sent.status, 403, 'a REST send is refused')
    const history = await rest<MessagesResponse>(s, gateway, mallory, 'GET', `/v1/conversations/${group}/messages`)
    t.same(history.body.items.map((m) => m.seq), [before], 'history ends at the removal')
    const typing = await rest(s, gateway, mallory, 'POST', `/v1/conversations/${group}/members`, { userId: mallory })
    t.equal(typing.status, 403, 'nor can they add themself back')
    again.close()
  }
  A.close()
  B.close()
})
