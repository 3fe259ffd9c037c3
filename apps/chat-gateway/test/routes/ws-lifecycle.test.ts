import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode, directConversationId } from '@metadome/contracts'
import WebSocket from 'ws'
import { until } from '@metadome/testing'
import { startJwksServer, testNats } from '@metadome/e2e'
import { build } from '../helpers/gateway.js'
import { TestSocket } from '../helpers/ws-client.js'

t.test('a USERS deleted event closes every socket of that user with 4403, on every gateway', async (t) => {
  const jwks = await startJwksServer(t)
  const a = await build(t, { AUTH_URL: jwks.url })
  const b = await build(t, { AUTH_URL: jwks.url, NATS_NAMESPACE: a.config.NATS_NAMESPACE })
  const nats = await testNats(t, a.config.NATS_NAMESPACE)
  const bob = randomUUID()
  const alice = randomUUID()
  const bobOnA = await TestSocket.ready(a.wsUrl, jwks.token(bob))
  const bobOnB = await TestSocket.ready(b.wsUrl, jwks.token(bob))
  const aliceOnA = await TestSocket.ready(a.wsUrl, jwks.token(alice))
  await nats.userEvent('deleted', bob)
  t.equal(await bobOnA.closed(), CloseCode.forbidden)
  t.equal(await bobOnB.closed(), CloseCode.forbidden)
  aliceOnA.send({ type: 'ping' })
  await aliceOnA.next('pong')
  t.equal(aliceOnA.closeCode, undefined, 'other users stay connected')

  const again = await TestSocket.open(a.wsUrl, jwks.token(bob))
  t.equal(await again.closed(), CloseCode.unauthorized, "a deleted user's token is refused")
  aliceOnA.close()
})

t.test('revoked sessions close sockets with 4403; only tokens issued after the revocation get in', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const nats = await testNats(t, gw.config.NATS_NAMESPACE)
  const bob = randomUUID()
  const now = Math.floor(Date.now() / 1000)
  const oldToken = jwks.token(bob, { issuedAt: now - 60 })
  const socket = await TestSocket.ready(gw.wsUrl, oldToken)
  await nats.userEvent('sessions_revoked', bob, new Date((now - 30) * 1000))
  t.equal(await socket.closed(), CloseCode.forbidden)
  const refused = await TestSocket.open(gw.wsUrl, oldToken)
  t.equal(await refused.closed(), CloseCode.unauthorized, 'a token from before the revocation is refused')
  const fresh = await TestSocket.ready(gw.wsUrl, jwks.token(bob, { issuedAt: now }))
  t.equal(fresh.closeCode, undefined, 'a token from after it is accepted')
  fresh.close()
})

t.test('a gateway that stops closes every socket with 1012 and takes no new ones', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const one = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID()))
  const two = await TestSocket.open(gw.wsUrl)
  await gw.app.close()
  t.equal(await one.closed(), CloseCode.restarting)
  t.equal(await two.closed(), CloseCode.restarting)
  await t.rejects(TestSocket.open(gw.wsUrl), 'no new connection')
})

t.test('a socket that does not read is closed with 4008 while the user\'s other socket stays open', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, WS_MAX_BUFFERED_BYTES: String(256 * 1024) })
  const nats = await testNats(t, gw.config.NATS_NAMESPACE)
  const alice = randomUUID()
  const bob = randomUUID()
  const conversationId = directConversationId(alice, bob)
  await nats.chatMessage({ conversationId, senderId: alice, body: { n: 0 } })

  const reader = await TestSocket.ready(gw.wsUrl, jwks.token(bob))
  const stalled = await TestSocket.ready(gw.wsUrl, jwks.token(bob))
  const raw = (stalled.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
  raw.pause()
  const body = { ciphertext: 'x'.repeat(60 * 1024) }
  const slow = await until(async () => {
    await nats.chatMessage({ conversationId, senderId: alice, body })
    return [...gw.chat.registry].every((c) => c.userId !== bob || !c.closed) ? undefined : true
  }, 60_000, 'the gateway to give up on the stalled socket')
  t.ok(slow)
  raw.resume()
  t.equal(await stalled.closed(30_000), CloseCode.tooSlow)
  t.equal(reader.closeCode, undefined, "Bob's socket that reads stays open")
  reader.close()
})

t.test('a peer that answers no WebSocket ping is cut off; one that answers stays', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, WS_PING_INTERVAL_MS: '100' })
  const answering = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID()))
  const dead = new WebSocket(gw.wsUrl, { headers: { authorization: `Bearer ${jwks.token(randomUUID())}` }, autoPong: false })
  const closed = new Promise<number>((resolve) => dead.once('close', (code) => resolve(code)))
  dead.on('error', () => {})
  t.equal(await closed, 1006, 'terminated without a close frame')
  answering.send({ type: 'ping' })
  await answering.next('pong')
  t.equal(answering.closeCode, undefined)
  answering.close()
})
