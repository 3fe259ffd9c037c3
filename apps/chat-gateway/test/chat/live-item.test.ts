import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connect, headers, type Msg } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { ensureStream, namespace } from '@metadome/nats'
import { chatStream, chatSubjects } from '@metadome/contracts'
import { createTestNamespace, testNatsUrl } from '@metadome/testing'
import { StreamPublisher } from '../../src/chat/stream-publisher.js'
import { liveItem, messageFrame, streamHeaders } from '../../src/chat/live-item.js'

t.test('a re-published message: seq and id from its raw headers, as nats.js decodes them; the frame spliced from its payload', async (t) => {
  const ns = namespace(createTestNamespace(t))
  const nc = await connect({ servers: testNatsUrl() })
  t.teardown(async () => { await nc.close() })
  await ensureStream(await jetstreamManager(nc), chatStream(ns))
  const publisher = new StreamPublisher(nc, chatStream(ns).name)
  t.teardown(() => { publisher.close() })
  const conversationId = `dm_${randomUUID()}_${randomUUID()}`
  const live: Msg[] = []
  const sub = nc.subscribe(chatSubjects(ns).liveAny(conversationId), { callback: (err, msg) => { if (err === null) live.push(msg) } })
  t.teardown(() => { sub.unsubscribe() })
  await nc.flush()

  const payloads = ['{"id":"a","body":{"text":"héllo ✓"}}', '{"id":"b"}']
  const ids = [randomUUID(), randomUUID()]
  const acks = [await publisher.publish(chatSubjects(ns).message(conversationId), payloads[0] as string, ids[0] as string), await publisher.publish(chatSubjects(ns).message(conversationId), payloads[1] as string, ids[1] as string)]
  while (live.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))

  for (const [n, msg] of live.entries()) {
    const seq = (acks[n] as { seq: number }).seq
    t.same(streamHeaders(msg), { seq, id: ids[n] }, `message ${n}: raw headers`)
    t.same(streamHeaders(msg), { seq: Number(msg.headers?.get('Nats-Sequence')), id: msg.headers?.get('Nats-Msg-Id') }, `message ${n}: as nats.js reads them`)
    const item = liveItem(conversationId, msg)
    t.same({ seq: item?.seq, id: item?.id, conversationId: item?.conversationId }, { seq, id: ids[n], conversationId })
    t.equal(item?.frame, messageFrame(seq, payloads[n] as string), `message ${n}: frame`)
    t.same(JSON.parse(item?.frame ?? ''), { type: 'message', message: { seq, ...JSON.parse(payloads[n] as string) } })
    t.equal(item?.frame, item?.frame, 'the same frame each time')
  }
})

/** A Msg as another NATS client might hand it over: no raw fields, only its decoded headers. */
function decodedOnly (data: string, hdrs?: Record<string, string>): Msg {
  const h = headers()
  for (const [k, v] of Object.entries(hdrs ?? {})) h.set(k, v)
  return { subject: 'x', sid: 1, reply: '', data: new TextEncoder().encode(data), headers: hdrs === undefined ? undefined : h } as unknown as Msg
}

t.test('without nats.js\'s raw fields, its decoded headers are read', async (t) => {
  t.same(streamHeaders(decodedOnly('{}', { 'Nats-Sequence': '7', 'Nats-Msg-Id': 'm' })), { seq: 7, id: 'm' })
  t.same(liveItem('c', decodedOnly('{"a":1}', { 'Nats-Sequence': '7' }))?.frame, '{"type":"message","message":{"seq":7,"a":1}}')
})

t.test('no seq, a seq that is not a positive integer, or a payload that is not a JSON object: no live item', async (t) => {
  t.equal(liveItem('c', decodedOnly('{"a":1}')), undefined, 'no headers')
  t.equal(liveItem('c', decodedOnly('{"a":1}', { 'Nats-Msg-Id': 'm' })), undefined, 'no seq')
  for (const seq of ['x', '0', '-3', '1.5', '99999999999999999999']) t.equal(liveItem('c', decodedOnly('{"a":1}', { 'Nats-Sequence': seq })), undefined, `seq ${seq}`)
  for (const data of ['', '{}', '[1,2]', '"text"', '{"a":1']) t.equal(liveItem('c', decodedOnly(data, { 'Nats-Sequence': '3' })), undefined, `payload ${JSON.stringify(data)}`)
})
