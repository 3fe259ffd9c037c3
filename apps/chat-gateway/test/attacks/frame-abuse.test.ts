import t from 'tap'
import { CloseCode, directConversationId } from '@metadome/contracts'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { say } from '../helpers/rest.js'

// Three ways one socket made others pay within the frame rate: history
// requests that each cost the writer a query, typing frames that each fan
// out to every member, and frames as large as allowed, back to back.

// One stack for the limits that do not get in each other's way: reads
// (small frames), typing, and bytes per user (a budget of 4000 at once).
const s = await startStack(t, { gatewayEnv: { WS_READS_PER_SECOND: '2', WS_USER_BYTES_PER_SECOND: '1000', WS_MAX_PAYLOAD_BYTES: '2000' } })

t.test('sync, history and conversations beyond WS_READS_PER_SECOND are rate_limited; the socket stays', async (t) => {
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  t.teardown(() => { A.close() })
  const dm = directConversationId(alice, bob)
  await say(A, dm, { n: 1 })
  for (let i = 0; i < 12; i++) A.send({ type: 'history', conversationId: dm, ref: `h${i}` })
  const answers = await A.take('history', 4).then((h) => h.length)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const limited = A.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited' && String(f.ref ?? '').startsWith('h')).length
  t.equal(answers + A.frames.filter((f) => f.type === 'history').length, 4, 'the burst (twice the rate) is answered')
  t.equal(limited, 8, 'the rest are rate_limited, each by its ref')
  t.equal(A.closeCode, undefined, 'the socket stays open')
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  A.send({ type: 'conversations', ref: 'later' })
  t.ok(await A.next('conversations', (f) => f.ref === 'later'), 'a second later it is answered again')
})

t.test('typing frames beyond one a second per conversation are dropped, not fanned out', async (t) => {
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const B = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  t.teardown(() => { A.close(); B.close() })
  const dm = directConversationId(alice, bob)
  await say(A, dm, { n: 1 })
  await B.next('message')
  for (let i = 0; i < 20; i++) A.send({ type: 'typing', conversationId: dm })
  await B.next('typing')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(B.frames.filter((f) => f.type === 'typing').length, 0, 'one typing event reached bob out of 20')
  await new Promise((resolve) => setTimeout(resolve, 700))
  A.send({ type: 'typing', conversationId: dm })
  t.ok(await B.next('typing'), 'a second later, the next is relayed')
})

t.test('bytes beyond WS_USER_BYTES_PER_SECOND over all of a user\'s sockets close the one that goes over with 4029', async (t) => {
  const [carol, bob] = await Promise.all([s.user(), s.user()])
  const dm = directConversationId(carol, bob)
  const sockets = await Promise.all([1, 2, 3].map(async () => await TestSocket.ready(s.a.wsUrl, s.jwks.token(carol))))
  t.teardown(() => { for (const socket of sockets) socket.close() })
  // 1,600 bytes a frame: each socket alone is far within its own budget (256 KiB/s).
  const sendFrom = (socket: TestSocket, n: number): void => {
    socket.send({ type: 'send', id: crypto.randomUUID(), conversationId: dm, body: { pad: 'x'.repeat(1_500) }, ref: `u${n}` })
  }
  sendFrom(sockets[0] as TestSocket, 0)
  t.ok(await sockets[0]?.next('ack', (f) => f.ref === 'u0'), 'the first socket\'s frame is taken')
  sendFrom(sockets[1] as TestSocket, 1)
  t.ok(await sockets[1]?.next('ack', (f) => f.ref === 'u1'), 'and the second\'s')
  sendFrom(sockets[2] as TestSocket, 2)
  t.equal(await sockets[2]?.closed(), CloseCode.rateLimited, 'the third goes over the user\'s budget and is closed')
  t.equal(sockets[0]?.closeCode, undefined, 'the first stays open')

  const fresh = await TestSocket.ready(s.a.wsUrl, s.jwks.token(carol))
  sendFrom(fresh, 3)
  t.equal(await fresh.closed(), CloseCode.rateLimited, 'a new socket does not bring a fresh budget')
  const B = await TestSocket.ready(s.a.wsUrl, s.jwks.token(bob))
  t.teardown(() => { B.close() })
  sendFrom(B, 4)
  t.ok(await B.next('ack', (f) => f.ref === 'u4'), 'another user is unaffected')
})

t.test('bytes beyond WS_BYTES_PER_SECOND close the socket with 4029', async (t) => {
  const s = await startStack(t, { gatewayEnv: { WS_BYTES_PER_SECOND: '1000', WS_MAX_PAYLOAD_BYTES: '2000' } })
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const dm = directConversationId(alice, bob)
  const big = 'x'.repeat(1_500)
  for (let i = 0; i < 4; i++) A.send({ type: 'send', id: crypto.randomUUID(), conversationId: dm, body: { pad: big }, ref: `b${i}` })
  t.equal(await A.closed(), CloseCode.rateLimited, 'closed as rate limited once the byte budget (4000 at once) is spent')
  const other = await TestSocket.ready(s.a.wsUrl, s.jwks.token(bob))
  t.ok(other, 'another socket is unaffected')
  other.close()
})
