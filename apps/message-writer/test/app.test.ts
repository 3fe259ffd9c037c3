import t from 'tap'
import { startNatsServer, until } from '@metadome/testing'
import { build, createWriterContext, directMessage } from './helper.js'

const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'

t.test('/healthz and /readyz answer; /readyz names what is down', async (t) => {
  const { app } = await build(t)
  t.same((await app.inject('/healthz')).json(), { status: 'ok' })
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { database: 'up', nats: 'up' } })
})

t.test('/readyz is 503 naming NATS while NATS is unreachable, and the writer carries on after', async (t) => {
  const nats = await startNatsServer(t)
  const ctx = await createWriterContext(t)
  const writer = await ctx.start({ NATS_URL: nats.url })
  await nats.stop()
  const down = await until(async () => {
    const res = await writer.app.inject('/readyz')
    return res.statusCode === 503 && res
  }, 10_000, 'readyz to report NATS down')
  t.same(down.json(), { status: 'unavailable', checks: { database: 'up', nats: 'down' } })
  await nats.start()
  await until(async () => (await writer.app.inject('/readyz')).statusCode === 200, 15_000, 'readyz to recover')
})

t.test('/metrics has the writer\'s series', async (t) => {
  const { app, ctx } = await build(t)
  await ctx.send(directMessage(alice, bob))
  await until(async () => (await ctx.messages()).length === 1, 10_000)
  await ctx.rpc.call('writer.position', {})
  const text = (await app.inject('/metrics')).body
  for (const name of ['writer_rows_written_total', 'writer_stream_messages_total', 'writer_batch_size_bucket', 'writer_batch_duration_seconds_bucket',
    'writer_ack_to_row_lag_seconds_bucket', 'writer_rpc_duration_seconds_bucket']) {
    t.match(text, new RegExp(`^${name}\\{`, 'm'), name)
  }
  t.match(text, /^# TYPE writer_dead_letters_total counter/m)
})

t.test('closing (SIGTERM) stops pulling, then commits and acks the batch in flight before NATS drains', async (t) => {
  const ctx = await createWriterContext(t)
  const writer = await ctx.start()
  await ctx.send(directMessage(alice, bob))
  await until(async () => (await ctx.messages()).length === 1, 10_000)

  // Hold the next batch in its transaction, then close while it waits.
  const blocker = await ctx.sql.connect()
  await blocker.query('begin')
  await blocker.query('lock table chat.messages in share mode')
  for (let i = 0; i < 20; i++) await ctx.send(directMessage(bob, alice, { i }))
  await until(async () => (await ctx.jsm.consumers.info(ctx.ns.stream('CHAT'), ctx.ns.consumer('writer'))).num_ack_pending === 20, 10_000, 'the batch to be in flight')
  let closed = false
  const closing = writer.close().then(() => { closed = true })
  t.equal((await writer.app.inject('/readyz')).statusCode, 503, 'not ready while closing')
  t.notOk(closed, 'close waits for the batch in flight')
  await blocker.query('commit')
  blocker.release()
  await closing

  t.equal((await ctx.messages()).length, 21, 'the batch in flight was committed')
  // The acks left with the drained connection; the server applies them in its own time.
  const info = await until(async () => {
    const i = await ctx.jsm.consumers.info(ctx.ns.stream('CHAT'), ctx.ns.consumer('writer'))
    return i.num_ack_pending === 0 && i
  }, 5_000, 'the acks to be applied')
  t.equal(info.ack_floor.stream_seq, 21, 'acked before the connection closed: nothing is redelivered')
  t.equal(info.num_redelivered, 0)
  await t.rejects(ctx.rpc.call('writer.position', {}, { timeoutMs: 500 }), { code: 'unavailable' }, 'no writer answers any more')
})
