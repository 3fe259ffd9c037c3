import t from 'tap'
import { randomUUID } from 'node:crypto'
import { directConversationId } from '@metadome/contracts'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest } from '../helpers/rest.js'

// The attack: a direct conversation id with its two user ids out of order
// names the same two people, but not the conversation. The gateway acked
// and delivered such a message live; the writer then dead-lettered it, so
// it vanished from history. It is refused before it is published.

t.test('a direct conversation id whose user ids are not in canonical order is bad_request everywhere', async (t) => {
  const s = await startStack(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const canonical = directConversationId(alice, bob)
  const [low, high] = [alice, bob].sort() as [string, string]
  const swapped = `dm_${high}_${low}`
  t.not(swapped, canonical)

  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const B = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const id = randomUUID()
  A.send({ type: 'send', id, conversationId: swapped, body: { text: 'hi' }, ref: id })
  t.equal((await A.next('error', (e) => e.ref === id)).code, 'bad_request', 'a send')
  for (const [frame, ref] of [
    [{ type: 'history', conversationId: swapped, ref: 'h' }, 'h'],
    [{ type: 'typing', conversationId: swapped, ref: 'ty' }, 'ty'],
    [{ type: 'receipt', conversationId: swapped, seq: 1, kind: 'read', ref: 'r' }, 'r']
  ] as const) {
    A.send(frame)
    t.equal((await A.next('error', (e) => e.ref === ref)).code, 'bad_request', frame.type)
  }
  const sent = await rest<{ error: { code: string } }>(s, s.a, alice, 'POST', `/v1/conversations/${swapped}/messages`, { id: randomUUID(), body: { text: 'hi' } })
  t.equal(sent.status, 400, 'a REST send')
  t.equal(sent.body.error.code, 'bad_request')
  t.equal((await rest(s, s.a, alice, 'GET', `/v1/conversations/${swapped}/messages`)).status, 400, 'REST history')

  // The canonical id works, and Bob gets only that.
  const good = randomUUID()
  A.send({ type: 'send', id: good, conversationId: canonical, body: { text: 'hi' }, ref: good })
  await A.next('ack', (a) => a.id === good)
  t.equal((await B.next('message')).message.id, good)
  t.notOk(B.frames.some((f) => f.type === 'message'), 'nothing else reached Bob')
  A.close()
  B.close()
})
