import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { ensureStream, namespace, type Namespace } from '@metadome/nats'
import { chatStream, chatSubjects } from '@metadome/contracts'
import { createTestNamespace, testNatsUrl, type Teardown } from '@metadome/testing'
import { StreamPublisher, PublishError } from '../../src/chat/stream-publisher.js'

/** A fresh namespace, a NATS connection closed at teardown and, unless `stream` is false, its CHAT stream. */
async function setUp (t: Teardown, stream = true): Promise<{ ns: Namespace, nc: NatsConnection, jsm: JetStreamManager }> {
  const ns = namespace(createTestNamespace(t))
  const nc = await connect({ servers: testNatsUrl() })
  t.teardown(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  if (stream) await ensureStream(jsm, chatStream(ns))
  return { ns, nc, jsm }
}

t.test('a publish resolves with the stored seq; the same id again gives the same seq, marked duplicate', async (t) => {
  const { ns, nc } = await setUp(t)
  const publisher = new StreamPublisher(nc, chatStream(ns).name)
  t.teardown(() => { publisher.close() })
  const subject = chatSubjects(ns).message('dm_x')
  const id = randomUUID()
  const first = await publisher.publish(subject, '{"n":1}', id)
  const other = await publisher.publish(subject, '{"n":2}', randomUUID())
  const again = await publisher.publish(subject, '{"n":1}', id)
  t.same(first, { seq: 1, duplicate: false })
  t.same(other, { seq: 2, duplicate: false })
  t.same(again, { seq: 1, duplicate: true })
})

t.test('without a stream on the subject, or with one that never answers, the publish fails', async (t) => {
  const { ns, nc } = await setUp(t, false)
  const publisher = new StreamPublisher(nc, chatStream(ns).name, { timeoutMs: 200 })
  t.teardown(() => { publisher.close() })
  await t.rejects(publisher.publish(chatSubjects(ns).message('dm_x'), '{}', randomUUID()), PublishError, 'no responders')
  const silent = nc.subscribe(`${ns.prefix}.silent`)
  t.teardown(() => { silent.unsubscribe() })
  await nc.flush()
  await t.rejects(publisher.publish(`${ns.prefix}.silent`, '{}', randomUUID()), { message: /in time/ }, 'timeout')
})

t.test('a publish to a subject of another stream is refused', async (t) => {
  const { ns, nc } = await setUp(t)
  const publisher = new StreamPublisher(nc, 'SOME_OTHER_STREAM')
  t.teardown(() => { publisher.close() })
  await t.rejects(publisher.publish(chatSubjects(ns).message('dm_x'), '{}', randomUUID()), { message: /refused/ })
})

t.test('publishes made in one turn leave together and are stored in the order they were made', async (t) => {
  const { ns, nc, jsm } = await setUp(t)
  const publisher = new StreamPublisher(nc, chatStream(ns).name)
  t.teardown(() => { publisher.close() })
  const subject = chatSubjects(ns).message('dm_x')
  const acks = await Promise.all(Array.from({ length: 200 }, async (_, n) => await publisher.publish(subject, JSON.stringify({ n }), randomUUID())))
  t.same(acks.map((a) => a.seq), Array.from({ length: 200 }, (_, n) => n + 1))
  const stored = await jsm.streams.getMessage(chatStream(ns).name, { seq: 137 })
  t.same(stored?.json(), { n: 136 })
})

t.test('closing before the turn ends fails the publishes not yet handed to NATS, and stores none of them', async (t) => {
  const { ns, nc, jsm } = await setUp(t)
  const publisher = new StreamPublisher(nc, chatStream(ns).name)
  const publishes = [1, 2, 3].map(async (n) => await publisher.publish(chatSubjects(ns).message('dm_x'), JSON.stringify({ n }), randomUUID()))
  publisher.close()
  for (const p of publishes) await t.rejects(p, PublishError)
  await new Promise((resolve) => setImmediate(resolve))
  await nc.flush()
  t.equal((await jsm.streams.info(chatStream(ns).name)).state.messages, 0)
})

t.test('a publish that gets no answer is tried again with the same id until a stream stores it, once', async (t) => {
  const { ns, nc, jsm } = await setUp(t, false)
  const publisher = new StreamPublisher(nc, chatStream(ns).name, { timeoutMs: 5_000, attemptMs: 200 })
  t.teardown(() => { publisher.close() })
  const subject = chatSubjects(ns).message('dm_x')
  const id = randomUUID()
  // No stream yet (as while a new leader is elected): the first tries find no responder.
  const publishing = publisher.publish(subject, '{"n":1}', id)
  await new Promise((resolve) => setTimeout(resolve, 600))
  await ensureStream(jsm, chatStream(ns))
  const ack = await publishing
  t.equal(ack.seq, 1, 'stored once the stream is there')
  t.equal((await jsm.streams.info(chatStream(ns).name)).state.messages, 1, 'once')
})

t.test('the headers are written as given; an id with a line break is refused and nothing is stored', async (t) => {
  const { ns, nc, jsm } = await setUp(t)
  const publisher = new StreamPublisher(nc, chatStream(ns).name)
  t.teardown(() => { publisher.close() })
  const subject = chatSubjects(ns).message('dm_x')
  const id = randomUUID()
  const ack = await publisher.publish(subject, '{}', id)
  const stored = await jsm.streams.getMessage(chatStream(ns).name, { seq: ack.seq })
  t.equal(stored?.header.get('Nats-Msg-Id'), id)
  t.equal(stored?.header.get('Nats-Expected-Stream'), chatStream(ns).name)
  await t.rejects(publisher.publish(subject, '{}', `${randomUUID()}\r\nNats-Expected-Stream: x`), { name: 'PublishError', message: /line break/ })
  await t.rejects(publisher.publish(subject, '{}', `${randomUUID()}\n`), { name: 'PublishError', message: /line break/ })
  t.equal((await jsm.streams.info(chatStream(ns).name)).state.messages, 1)
})
