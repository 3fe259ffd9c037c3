import t from 'tap'
import { CloseCode, directConversationId } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { say } from '../helpers/rest.js'

// The attack: while message-writer is down (or far behind), each connecting
// user's conversations and each `sync` from 0 were read by scanning the CHAT
// stream from its start, so every socket, or one socket syncing in a loop,
// cost the NATS servers the whole stream. A connect or sync now reads at
// most CATCH_UP_STREAM_MAX entries from the stream and is told to try again
// beyond.

t.test('with the writer down, a connect or sync that would scan more than CATCH_UP_STREAM_MAX entries is told to try again', async (t) => {
  const s = await startStack(t, { gatewayEnv: { CATCH_UP_STREAM_MAX: '20' } })
  const [alice, bob, carol] = await Promise.all([s.user(), s.user(), s.user()])
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const B = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const direct = directConversationId(alice, bob)
  let last = 0
  for (let i = 0; i < 30; i++) last = await say(A, direct, { n: i })
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= last, 10_000, 'the writer to store them')

  // With the writer up nothing is read from the stream: all is served.
  const C1 = await TestSocket.ready(s.b.wsUrl, s.jwks.token(carol))
  B.send({ type: 'sync', after: 0, ref: 'up' })
  t.equal((await B.next('synced', (f) => f.ref === 'up')).cursor >= last, true, 'a sync from 0 with the writer up')
  C1.close()

  await s.stopWriter()
  // Carol is new to gateway a: her conversations would come from the stream's start.
  const C2 = await TestSocket.open(s.a.wsUrl, s.jwks.token(carol))
  const refused = await C2.next('error')
  t.equal(refused.code, 'unavailable')
  t.equal(await C2.closed(), CloseCode.tryAgainLater, 'the connect is closed with 1013')

  B.send({ type: 'sync', after: 0, ref: 'far' })
  const error = await B.next('error', (f) => f.ref === 'far', 20_000)
  t.equal(error.code, 'unavailable', 'a sync from 0 is refused')
  // A sync from near the end reads a few entries from the stream and is served.
  B.send({ type: 'sync', after: last - 5, ref: 'near' })
  t.equal((await B.next('synced', (f) => f.ref === 'near', 20_000)).cursor >= last, true, 'a sync of the last few is served from the stream')
  t.equal(B.closeCode, undefined, 'the socket that was refused a sync stays open')
  A.close()
  B.close()
})
