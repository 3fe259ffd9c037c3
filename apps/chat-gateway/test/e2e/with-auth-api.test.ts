import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode, directConversationId } from '@metadome/contracts'
import { createTestNamespace, until } from '@metadome/testing'
import { build as buildAuth, signUp, PASSWORD } from '../../../auth-api/test/helper.js'
import { startStack } from '../stack.js'
import { TestSocket } from '../ws-client.js'

t.test('with the real auth-api: its tokens open sockets, and deleting Bob closes his sockets with 4403 on every gateway', async (t) => {
  const ns = createTestNamespace(t)
  const auth = await buildAuth(t, { NATS_NAMESPACE: ns })
  await auth.app.listen({ host: '127.0.0.1', port: 0 })
  const address = auth.app.server.address()
  const authUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const s = await startStack(t, { namespace: ns, authUrl })

  const alice = await signUp(auth.app, `alice${randomUUID().slice(0, 8)}`)
  const bob = await signUp(auth.app, `bob${randomUUID().slice(0, 8)}`)
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

  const res = await auth.app.inject({ method: 'DELETE', url: `/v1/users/${bob.id}`, headers: bob.auth, payload: { currentPassword: PASSWORD } })
  t.equal(res.statusCode, 204)
  t.equal(await bobA.closed(15_000), CloseCode.forbidden)
  t.equal(await bobB.closed(15_000), CloseCode.forbidden)
  const again = await TestSocket.open(s.b.wsUrl, bob.accessToken)
  t.equal(await again.closed(), CloseCode.unauthorized, "the deleted user's still unexpired token is refused")

  aliceA.send({ type: 'send', id: randomUUID(), to: bob.id, body: { text: 'gone?' } })
  t.equal((await aliceA.next('error')).code, 'not_found', 'a deleted user cannot be written to')
  aliceA.close()
})
