import t from 'tap'
import { CloseCode } from '@metadome/contracts'
import { Delivery } from '../../src/ws/delivery.js'
import type { LiveItem } from '../../src/chat/live-item.js'

// The no-gap invariant of one socket, with a fake socket: what a catch-up
// reads from the writer or the stream and what arrives live meanwhile reach
// the socket in seq order, each once.

interface FakeSocket {
  delivery: Delivery
  /** Seqs written, in order. */
  written: number[]
  closedWith: number | undefined
  buffered: number
  errors: unknown[]
}

function fakeSocket (maxBufferedBytes = 1_000_000): FakeSocket {
  const socket: FakeSocket = { written: [], closedWith: undefined, buffered: 0, errors: [], delivery: undefined as unknown as Delivery }
  socket.delivery = new Delivery({
    write: (text) => { socket.written.push((JSON.parse(text) as { seq: number }).seq) },
    isClosed: () => socket.closedWith !== undefined,
    close: (code) => { socket.closedWith ??= code },
    bufferedAmount: () => socket.buffered,
    maxBufferedBytes,
    onError: (err) => { socket.errors.push(err) }
  })
  return socket
}

const item = (seq: number, conversationId = 'c1', id = `m${seq}`): LiveItem => ({ seq, conversationId, id, frame: JSON.stringify({ seq }) })

/** A catch-up that can be stepped from the test: it writes what it is told, then covers. */
function steppedCatchUp (socket: FakeSocket): { write: (i: LiveItem) => void, cover: (c: string | undefined, upTo: number) => void, finish: () => Promise<void> } {
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let ctx: Parameters<Parameters<Delivery['catchUp']>[0]>[0] | undefined
  const started = new Promise<void>((resolve) => {
    void socket.delivery.catchUp(async (c) => {
      ctx = c
      resolve()
      await gate
    })
  })
  return {
    write: (i) => { void started.then(() => ctx?.write(i)) },
    cover: (c, upTo) => { void started.then(() => ctx?.cover(c, upTo)) },
    finish: async () => {
      await started
      release()
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

t.test('live messages are written as they arrive and move the cursor', async (t) => {
  const s = fakeSocket()
  s.delivery.deliver(item(3))
  s.delivery.deliver(item(5))
  t.same(s.written, [3, 5])
  t.equal(s.delivery.cursor, 5)
  t.notOk(s.delivery.catchingUp)
})

t.test('during a catch-up the live feed is held, then written minus what the catch-up covered', async (t) => {
  const s = fakeSocket()
  const job = steppedCatchUp(s)
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(s.delivery.catchingUp)
  s.delivery.deliver(item(10))
  s.delivery.deliver(item(12))
  t.same(s.written, [], 'held back')
  job.write(item(8))
  job.write(item(10))
  job.cover(undefined, 10)
  await job.finish()
  t.same(s.written, [8, 10, 12], 'in seq order, 10 once')
  t.equal(s.delivery.cursor, 12)
  t.notOk(s.delivery.catchingUp)
})

t.test('a catch-up that writes a seq first writes the live messages held below it', async (t) => {
  const s = fakeSocket()
  const job = steppedCatchUp(s)
  await new Promise((resolve) => setImmediate(resolve))
  // Another conversation's message arrives live while c2 is caught up from older seqs.
  s.delivery.deliver(item(20, 'c1'))
  job.write(item(15, 'c2'))
  job.write(item(25, 'c2'))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(s.written, [15, 20, 25], 'never a higher seq before a lower one')
  job.cover('c2', 25)
  await job.finish()
  t.same(s.written, [15, 20, 25], '20 is not written again at the end')
})

t.test('a message this socket sent comes back as its ack, not as a message', async (t) => {
  const s = fakeSocket()
  s.delivery.markOwn('mine')
  s.delivery.deliver(item(4, 'c1', 'mine'))
  s.delivery.deliver(item(5, 'c1', 'theirs'))
  t.same(s.written, [5])
  t.equal(s.delivery.cursor, 5, 'the cursor passes it all the same')
  s.delivery.markOwn('again')
  s.delivery.forgetOwn('again')
  s.delivery.deliver(item(6, 'c1', 'again'))
  t.same(s.written, [5, 6], 'forgotten (not coming back live): written')
})

t.test('a socket whose held-back feed outgrows four buffers is closed as too slow', async (t) => {
  const s = fakeSocket(100)
  const job = steppedCatchUp(s)
  await new Promise((resolve) => setImmediate(resolve))
  for (let seq = 1; seq <= 60 && s.closedWith === undefined; seq++) s.delivery.deliver(item(seq))
  t.equal(s.closedWith, CloseCode.tooSlow)
  await job.finish()
  t.same(s.written, [], 'nothing is written to a closed socket')
})

t.test('a catch-up that fails loses nothing live: what was held is written', async (t) => {
  const s = fakeSocket()
  let fail!: (err: Error) => void
  void s.delivery.catchUp(async () => { await new Promise<void>((_resolve, reject) => { fail = reject }) })
  await new Promise((resolve) => setImmediate(resolve))
  s.delivery.deliver(item(7))
  fail(new Error('the stream is away'))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(s.written, [7])
  t.equal(s.errors.length, 1, 'the failure is reported')
})

t.test('catch-ups queue: the feed stays held until the last one ends, and coverage adds up', async (t) => {
  const s = fakeSocket()
  const first = steppedCatchUp(s)
  const second = steppedCatchUp(s)
  await new Promise((resolve) => setImmediate(resolve))
  s.delivery.deliver(item(30, 'c1'))
  s.delivery.deliver(item(31, 'c2'))
  first.write(item(30, 'c1'))
  first.cover('c1', 31)
  await first.finish()
  t.same(s.written, [30], 'still held while the second runs')
  second.write(item(31, 'c2'))
  second.cover('c2', 31)
  await second.finish()
  t.same(s.written, [30, 31], 'each once')
})

t.test('a slow reader stalls a catch-up until its buffer drains', async (t) => {
  const s = fakeSocket(1_000)
  s.buffered = 900
  let drained = false
  const run = s.delivery.catchUp(async (ctx) => {
    await ctx.drained()
    drained = true
  })
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.notOk(drained, 'waits while the buffer is over half full')
  s.buffered = 100
  await run
  t.ok(drained)
})
