import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode, directConversationId } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { signUp, PASSWORD } from '@metadome/e2e'
import { startStackWithAuthApi } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'

t.test('with the real auth-api: its tokens open sockets, and deleting Bob closes his sockets with 4403 on every gateway', async (t) => {
  const s = await startStackWithAuthApi(t)

  const alice = await signUp(s.auth, `alice${randomUUID().slice(0, 8)}`)
  const bob = await signUp(s.auth, `bob${randomUUID().slice(0, 8)}`)
  // auth-api's outbox relay publishes `registered`; the writer's projection follows.
  await until(async () => (await s.rpc.call('users.get', { userId: bob.id })).user !== null, 15_000, 'the writer to know Bob')

  const aliceA = await TestSocket.ready(s.a.wsUrl, alice.accessToken)
  const bobA = await TestSocket.ready(s.a.wsUrl, bob.accessToken)
  const bobB = await TestSocket.ready(s.b.wsUrl, bob.accessToken)
  const id = randomUUID()
  aliceA.send({ type: 'send', id, to: bob.id, body: { text: 'hi' } })
  const ack = await aliceA.next('ack')
  t.equal(ack.conversationId, directConversationId(alice.id, bob.id))
  t.equal((await bobB.next('message')).message.id, id)

  const res = await s.auth.inject({ method: 'DELETE', url: `/v1/users/${bob.id}`, headers: bob.auth, payload: { currentPassword: PASSWORD } })
  t.equal(res.statusCode, 204)
  t.equal(await bobA.closed(15_000), CloseCode.forbidden)
  t.equal(await bobB.closed(15_000), CloseCode.forbidden)
  const again = await TestSocket.open(s.b.wsUrl, bob.accessToken)
  t.equal(await again.closed(), CloseCode.unauthorized, "the deleted user's still unexpired token is refused")

  aliceA.send({ type: 'send', id: randomUUID(), to: bob.id, body: { text: 'gone?' } })
  t.equal((await aliceA.next('error')).code, 'not_found', 'a deleted user cannot be written to')
  aliceA.close()
})
