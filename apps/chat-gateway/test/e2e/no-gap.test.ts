import t from 'tap'
import { randomUUID } from 'node:crypto'
import { testNatsUrl, until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { build } from '../helpers/gateway.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { TestSocket } from '../helpers/ws-client.js'

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

t.test('the first message of a new conversation reaches a connected member in seq order with the conversations they already follow', async (t) => {
  const s = await startStack(t)
  const bob = await s.user()
  const carol = await s.user()
  const bobB = await TestSocket.ready(s.b.wsUrl, s.jwks.token(bob))
  const carolA = await TestSocket.ready(s.a.wsUrl, s.jwks.token(carol))
  carolA.send({ type: 'send', id: randomUUID(), to: bob, body: { n: 0 } })
  await bobB.next('message')

  // Carol keeps Bob's feed busy (within her rate limit) while newcomers write to him for the first time.
  const newcomers = await Promise.all(Array.from({ length: 5 }, async () => await s.user()))
  const sockets = await Promise.all(newcomers.map(async (u) => await TestSocket.ready(s.a.wsUrl, s.jwks.token(u))))
  const burst = Array.from({ length: 150 }, () => randomUUID())
  const firsts: string[] = []
  burst.forEach((id, n) => {
    carolA.send({ type: 'send', id, to: bob, body: { n } })
    const socket = sockets[n / 30]
    if (socket === undefined) return
    const first = randomUUID()
    socket.send({ type: 'send', id: first, to: bob, body: { first: true } })
    firsts.push(first)
  })
  await carolA.take('ack', 151, 30_000)
  await Promise.all(sockets.map(async (socket, i) => await socket.next('ack', (a) => a.id === firsts[i])))
  await until(() => firsts.every((id) => bobB.frames.some((f) => f.type === 'message' && f.message.id === id)), 20_000, 'Bob to get every first message')

  const seqs = messageSeqs(bobB)
  t.equal(new Set(seqs).size, seqs.length, 'no duplicate')
  t.same(seqs, [...seqs].sort((x, y) => x - y), 'in seq order, so a cursor never passes a message not yet delivered')
  for (const socket of [bobB, carolA, ...sockets]) socket.close()
})
