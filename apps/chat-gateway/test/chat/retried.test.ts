import t from 'tap'
import { CloseCode } from '@metadome/contracts'
import { Delivery, type CatchUpContext } from '../../src/ws/delivery.js'
import type { LiveItem } from '../../src/chat/live-item.js'
import { retried } from '../../src/chat/retried.js'

// A catch-up no client asked for (a joined conversation, a resume after a
// NATS reconnect) is attempted again rather than leaving its socket with a
// gap, writing nothing twice; past its last attempt the socket is closed
// with 1013 before what was held is written, so the client's cursor stays
// below the gap and its reconnect's sync brings it.

interface Socket {
  id: string
  closed: boolean
  closedWith: number | undefined
  close: (code: number, reason: string) => void
  delivery: Delivery
  written: number[]
  errors: unknown[]
}

function socket (): Socket {
  const s: Socket = {
    id: 'c1',
    closed: false,
    closedWith: undefined,
    close: (code) => { s.closed = true; s.closedWith ??= code },
    delivery: undefined as unknown as Delivery,
    written: [],
    errors: []
  }
  s.delivery = new Delivery({
    write: (text) => { s.written.push((JSON.parse(text) as { seq: number }).seq) },
    isClosed: () => s.closed,
    close: (code, reason) => { s.close(code, reason) },
    bufferedAmount: () => 0,
    maxBufferedBytes: 1_000_000,
    onError: (err) => { s.errors.push(err) }
  })
  return s
}

function recordingLog (): { warn: (o: object, msg: string) => void, error: (o: object, msg: string) => void, lines: Array<{ level: string, msg: string }> } {
  const lines: Array<{ level: string, msg: string }> = []
  return {
    lines,
    warn: (_o, msg) => { lines.push({ level: 'warn', msg }) },
    error: (_o, msg) => { lines.push({ level: 'error', msg }) }
  }
}

const item = (seq: number, conversationId = 'g1'): LiveItem => ({ seq, conversationId, id: `m${seq}`, frame: JSON.stringify({ seq }) })
const tick = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 5)) }

t.test('a failing catch-up runs again, writes each stored message once, and then the live ones held meanwhile', async (t) => {
  const s = socket()
  const log = recordingLog()
  let attempts = 0
  const done = s.delivery.catchUp(retried(s, log, 'catching up', async (ctx: CatchUpContext) => {
    attempts++
    // Every attempt reads the same stored messages; the first two fail midway.
    ctx.write(item(10))
    ctx.write(item(11, 'd1'))
    if (attempts < 3) throw new Error('no CHAT leader')
    ctx.write(item(12))
    ctx.cover('g1', 20)
    ctx.cover('d1', 20)
  }, [1, 1, 1]))
  await tick()
  s.delivery.deliver(item(21))
  await done
  t.equal(attempts, 3, 'attempted until it worked')
  t.same(s.written, [10, 11, 12, 21], 'each once, in seq order, the live one last')
  t.equal(s.closedWith, undefined, 'the socket stays open')
  t.same(log.lines.map((l) => l.level), ['warn', 'warn'], 'each failed attempt is logged as a warning')
  t.same(s.errors, [], 'nothing reaches the socket\'s error handler')
})

t.test('past the last attempt the socket is closed with 1013 and the held live messages are not written', async (t) => {
  const s = socket()
  const log = recordingLog()
  let attempts = 0
  const done = s.delivery.catchUp(retried(s, log, 'resuming after a NATS reconnect', async () => {
    attempts++
    throw new Error('stream info timed out')
  }, [1, 1]))
  await tick()
  s.delivery.deliver(item(30))
  await done
  t.equal(attempts, 3, 'the first attempt and one per delay')
  t.equal(s.closedWith, CloseCode.tryAgainLater, 'closed with 1013: the client reconnects and syncs')
  t.same(s.written, [], 'nothing written after the gap: the client\'s cursor stays below it')
  t.match(log.lines.at(-1), { level: 'error', msg: /resuming after a NATS reconnect failed; closing the socket/ })
})

t.test('a socket closed meanwhile is not attempted again', async (t) => {
  const s = socket()
  const log = recordingLog()
  let attempts = 0
  const done = s.delivery.catchUp(retried(s, log, 'catching up', async () => {
    attempts++
    throw new Error('no CHAT leader')
  }, [50, 50]))
  await tick()
  s.close(CloseCode.normal, 'bye')
  await done
  t.equal(attempts, 1)
  t.equal(s.closedWith, CloseCode.normal, 'its own close code stands')
})
