import t from 'tap'
import { randomUUID } from 'node:crypto'
import { testNatsUrl, until } from '@metadome/testing'
import { startStack } from '../stack.js'
import { build } from '../helper.js'
import { startTcpProxy } from '../tcp-proxy.js'
import { TestSocket } from '../ws-client.js'

function messageSeqs (socket: TestSocket): number[] {
  return socket.frames.flatMap((f) => f.type === 'message' ? [f.message.seq] : [])
}

t.test('a sync during a burst of live messages gives every message once, in seq order', async (t) => {
  const s = await startStack(t)
  const alice = await s.user()
  const bob = await s.user()
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const first = randomUUID()
  aliceA.send({ type: 'send', id: first, to: bob, body: { n: 0 } })
  await aliceA.next('ack')

  const ids = Array.from({ length: 150 }, () => randomUUID())
  ids.forEach((id, n) => { aliceA.send({ type: 'send', id, to: bob, body: { n } }) })
  await until(() => aliceA.frames.filter((f) => f.type === 'ack').length >= 30, 10_000, 'part of the burst')
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  bobB.send({ type: 'sync', after: 0 })
  const acks = await aliceA.take('ack', 150, 30_000)
  const last = Math.max(...acks.map((a) => a.seq))
  await until(() => messageSeqs(bobB).includes(last), 30_000, 'Bob to get the last message')

  const seqs = messageSeqs(bobB)
  const expected = [...acks.map((a) => a.seq)]
  t.equal(new Set(seqs).size, seqs.length, 'no duplicate')
  t.same([...seqs].sort((x, y) => x - y), seqs, 'in seq order')
  t.ok(expected.every((seq) => seqs.includes(seq)), 'no gap: every acked message arrived')
  t.equal(bobB.frames.filter((f) => f.type === 'synced').length, 1)
  aliceA.close()
  bobB.close()
})

t.test('after its NATS connection comes back, a gateway catches its sockets up on what they missed', async (t) => {
  const s = await startStack(t)
  const proxy = await startTcpProxy(t, Number(new URL(testNatsUrl()).port))
  const c = await build(t, { AUTH_URL: s.jwks.url, NATS_NAMESPACE: s.nats.ns.prefix, NATS_URL: proxy.url })
  const alice = await s.user()
  const bob = await s.user()
  const aliceA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const bobC = await TestSocket.ready(c.wsUrl, s.jwks.token(bob))
  const firstId = randomUUID()
  aliceA.send({ type: 'send', id: firstId, to: bob, body: { n: 0 } })
  await aliceA.next('ack')
  await bobC.next('message')

  const disconnected = (async () => {
    for await (const status of c.app.nats.nc.status()) if (status.type === 'disconnect') return
  })()
  proxy.partition()
  await disconnected
  const missed: number[] = []
  for (let n = 1; n <= 5; n++) {
    const id = randomUUID()
    aliceA.send({ type: 'send', id, to: bob, body: { n } })
    missed.push((await aliceA.next('ack', (a) => a.id === id)).seq)
  }
  proxy.heal()
  await until(() => missed.every((seq) => messageSeqs(bobC).includes(seq)), 20_000, 'Bob to catch up')
  t.same(messageSeqs(bobC), missed, 'exactly the missed messages, in order')

  const liveId = randomUUID()
  aliceA.send({ type: 'send', id: liveId, to: bob, body: { n: 6 } })
  await aliceA.next('ack')
  t.equal((await bobC.next('message', (f) => f.message.id === liveId)).message.id, liveId, 'and live again')
  aliceA.close()
  bobC.close()
})
