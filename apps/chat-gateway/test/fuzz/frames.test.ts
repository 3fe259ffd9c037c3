import { randomUUID } from 'node:crypto'
import t from 'tap'
import fc from 'fast-check'
import { Compile } from 'typebox/compile'
import { buildGateway, listen } from '@metadome/e2e'
import { ClientFrames, CloseCode, directConversationId, ErrorCode, isErrorCodeOf, type ServerFrame } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { rest } from '../helpers/rest.js'
import { TestSocket } from '../helpers/ws-client.js'
import { type Deep, type Hints, type Schema, type Tree, badUtf8, deep, entries, key, near, notJson, settledHeap, tree, write, writeDeep } from '@metadome/e2e/fuzz'

// Abuse resistance of the WebSocket side: generated frames over a few real
// sockets (reconnected when the gateway closes one): frames shaped like the
// contract's with fields of the wrong type, any JSON and any value, text that
// is not JSON, bytes that are not UTF-8 sent as text, binary frames, nesting
// 40,000 deep (in a message body too, which the gateway passes on), frames
// a byte either side of WS_MAX_PAYLOAD_BYTES, `__proto__` keys everywhere.
//
// Each frame gets an `error` frame with a code of the contract (never
// `unavailable`: the stack is up, so that would be a fault), or is answered
// or ignored, or the socket closes with a documented code; never 1006 (the
// gateway cut the connection) or 1011, never a hang: a ping after each batch
// is answered. Afterwards new sockets still get `ready`, no app logged an
// error and the heap is back near its start.
//
// Most frames go to two gateways whose limits are raised, so they reach
// parsing, validation and the handlers rather than the limiters; a slice goes
// to a gateway with the default limits, where closing (4029) is the answer.

const MAX_PAYLOAD = 128 * 1024
const LENIENT_RUNS = 560
const DEFAULT_LIMITS_RUNS = 60
const BATCH = 40
const PROBE_TIMEOUT_MS = 10_000

const DOCUMENTED = new Set<number>(Object.values(CloseCode))

// Found by this fuzzing and kept failing in its own test at the end of this
// file; tolerated here (FUZZ_STRICT=1 does not) so the fuzzing goes on to
// find others: a text frame that is not UTF-8 closes with 1007, a code the
// contract does not list. Only where the batch sent such a frame.
const STRICT = process.env.FUZZ_STRICT === '1'
const notUtf8 = (bytes: number[]): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(bytes))
    return false
  } catch {
    return true
  }
}
const KNOWN_1007 = (code: number, frames: Frame[]): boolean => !STRICT && code === 1007 && frames.some((f) => f.kind === 'bytes' && !f.binary && notUtf8(f.bytes))

// Found by this fuzzing, kept failing below too, and not generated here
// (FUZZ_STRICT=1 generates it): a receipt's `seq` or a history's `before`
// the contract accepts (any integer from 1) but PostgreSQL's bigint cannot
// hold (2^63 and up, `1e21`) fails in message-writer's query: an error line
// there ("rpc failed") and `unavailable` to the client, where the contract
// has `bad_request`.
const BIGINT_LIMIT = 2 ** 63
function beyondBigint (text: string): boolean {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return false
  }
  const { type, seq, before } = (value ?? {}) as { type?: unknown, seq?: unknown, before?: unknown }
  return (type === 'receipt' && typeof seq === 'number' && seq >= BIGINT_LIMIT) || (type === 'history' && typeof before === 'number' && before >= BIGINT_LIMIT)
}

type Frame =
  | { kind: 'tree', tree: Tree }
  | { kind: 'text', text: string }
  | { kind: 'value', value: unknown }
  | { kind: 'bytes', bytes: number[], binary: boolean }
  | { kind: 'deep', deep: Deep, inBody: boolean }
  /** A send or ping frame padded to WS_MAX_PAYLOAD_BYTES + delta bytes. */
  | { kind: 'sized', delta: number, frame: 'send' | 'ping' }

interface Rendered { data: string | Buffer, binary: boolean }

interface Batch {
  socket: number
  frames: Frame[]
  /** A frame that closes the socket, sent last. */
  closer: Frame | null
}

const sendValidator = Compile(ClientFrames.send)
/**
 * If `text` is a send frame the contract accepts (the gateway must answer
 * it): the id its ack carries and the ref an error about it carries (its
 * own ref, or its id).
 */
function validSend (text: string): { id: string, ref: string | number } | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!sendValidator.Check(value)) return undefined
  const { id, ref } = value as { id: string, ref?: string | number }
  return { id, ref: ref ?? id }
}

const allFieldNames = [...new Set(Object.values(ClientFrames).flatMap((s) => fieldsOf(s as Schema)))]
function fieldsOf (s: Schema): string[] {
  return [...Object.keys(s.properties ?? {}), ...(s.anyOf ?? []).flatMap(fieldsOf)]
}

// 10,000 and more requests, all of them made: past tap's two minutes on a busy machine.
t.setTimeout(300_000)

t.test('the gateway answers 10,000 generated WebSocket frames with an error, a reply, silence or a documented close; never 1006, 1011 or a hang', async (t) => {
  const lenient = {
    WS_RATE_PER_SECOND: '1000000',
    WS_RATE_BURST: '1000000',
    WS_BYTES_PER_SECOND: '1000000000',
    WS_USER_BYTES_PER_SECOND: '1000000000',
    WS_READS_PER_SECOND: '1000000',
    WS_MAX_BAD_FRAMES: '1000000000',
    GROUP_CREATIONS_PER_HOUR: '1000000',
    GROUP_ADDITIONS_PER_HOUR: '1000000',
    WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
    LOG_LEVEL: 'warn'
  }
  const s = await startStack(t, { gatewayEnv: lenient, writerEnv: { LOG_LEVEL: 'warn' } })
  const defaultGateway = await buildGateway(t, { NATS_URL: s.natsUrl, NATS_NAMESPACE: s.ns, AUTH_URL: s.authUrl, LOG_LEVEL: 'warn' })
  const defaultUrl = `${(await listen(defaultGateway.app)).replace('http://', 'ws://')}/v1/ws`
  const apps = [...s.apps, { name: 'chat-gateway-default-limits', logs: defaultGateway.logs }]

  const [me, friend, stranger] = await Promise.all([s.user(), s.user(), s.user()])
  const token = s.jwks.token(me, { expiresIn: 3600 })
  const group = (await rest<{ conversation: { id: string } }>(s, s.a, me, 'POST', '/v1/conversations', { title: 'mine', members: [friend] }, token)).body.conversation.id
  const theirs = (await rest<{ conversation: { id: string } }>(s, s.a, stranger, 'POST', '/v1/conversations', { title: 'theirs', members: [friend] })).body.conversation.id
  const dm = directConversationId(me, friend)
  t.ok(group !== undefined && theirs !== undefined, 'a group of mine and one I am not in')
  await until(async () => (await rest(s, s.a, me, 'GET', `/v1/conversations/${group}/messages`, undefined, token)).status === 200, 10_000, 'the writer to know the group')

  const hints: Hints = {
    byName: {
      conversationId: [group, dm, theirs, directConversationId(me, randomUUID()), `dm_${friend}_${me}`],
      to: [friend, me, stranger, randomUUID()],
      userId: [friend, me, stranger],
      token: [token, s.jwks.token(friend), s.jwks.token(me, { expiresIn: -60 }), s.jwks.token(me, { kid: '__proto__' }), 'x'],
      body: [entries([['ciphertext', 'x']]), entries([['__proto__', entries([['polluted', true]])]]), entries([['constructor', entries([['prototype', entries([['polluted', true]])]])]])],
      after: [0, 1, 2 ** 53, 2 ** 63],
      before: [1, 2 ** 53, 2 ** 63],
      seq: [1, 2 ** 53, 2 ** 63, 1e21]
    }
  }

  // ---------------------------------------------------------------- frames
  const types = Object.keys(ClientFrames)
  // Sends weigh more: they carry the opaque body the gateway passes on.
  const shaped = fc.oneof(...Object.entries(ClientFrames).map(([type, schema]) => ({ weight: type === 'send' ? 10 : 1, arbitrary: near(schema as Schema, hints) })))
  const wrongTyped = fc.tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...types) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'PING', '', 'ping ', 'error', 'ready') }),
    fc.array(fc.tuple(key(allFieldNames), tree(allFieldNames)), { maxLength: 5 })
  ).map(([type, rest]) => entries([['type', type], ...rest]))
  const anyFrame: fc.Arbitrary<Frame> = fc.oneof(
    { weight: 6, arbitrary: shaped.map((t): Frame => ({ kind: 'tree', tree: t })) },
    { weight: 4, arbitrary: wrongTyped.map((t): Frame => ({ kind: 'tree', tree: t })) },
    { weight: 1, arbitrary: tree(allFieldNames).map((t): Frame => ({ kind: 'tree', tree: t })) },
    { weight: 2, arbitrary: fc.json().map((text): Frame => ({ kind: 'text', text })) },
    { weight: 2, arbitrary: fc.anything({ withBigInt: false, withNullPrototype: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true, withObjectString: true }).map((value): Frame => ({ kind: 'value', value })) },
    { weight: 1, arbitrary: notJson.map((text): Frame => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: fc.oneof(badUtf8, fc.json().map((j) => [...Buffer.from(j)]), fc.constant<number[]>([...Buffer.from('{"type":"ping"}')])).map((bytes): Frame => ({ kind: 'bytes', bytes, binary: true })) },
    { weight: 1, arbitrary: fc.tuple(deep, fc.boolean()).map(([d, inBody]): Frame => ({ kind: 'deep', deep: d, inBody })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(-1, 0, -MAX_PAYLOAD / 2), fc.constantFrom<'send' | 'ping'>('send', 'ping')).map(([delta, f]): Frame => ({ kind: 'sized', delta, frame: f })) }
  )

  const render = (f: Frame): Rendered => {
    switch (f.kind) {
      case 'tree': return { data: write(f.tree), binary: false }
      case 'text': return { data: f.text, binary: false }
      case 'value': return { data: JSON.stringify(f.value) ?? 'null', binary: false }
      case 'bytes': return { data: Buffer.from(f.bytes), binary: f.binary }
      case 'deep': return { data: f.inBody ? `{"type":"send","id":"${randomUUID()}","conversationId":"${group}","body":{"deep":${writeDeep(f.deep)}}}` : writeDeep(f.deep), binary: false }
      case 'sized': {
        const head = f.frame === 'send' ? `{"type":"send","id":"${randomUUID()}","conversationId":"${group}","body":{"pad":"` : '{"type":"ping","ref":"'
        const tail = f.frame === 'send' ? '"}}' : '"}'
        return { data: head + 'x'.repeat(Math.max(0, MAX_PAYLOAD + f.delta - head.length - tail.length)) + tail, binary: false }
      }
    }
  }

  // A frame past WS_MAX_PAYLOAD_BYTES closes its socket (1009) and the rest
  // of its batch goes unjudged: those come only as a batch's closer (below).
  const frame = anyFrame.filter((f) => {
    const { data } = render(f)
    if (!STRICT && typeof data === 'string' && beyondBigint(data)) return false
    return (typeof data === 'string' ? Buffer.byteLength(data) : data.length) <= MAX_PAYLOAD
  })

  /** Frames the gateway must refuse with an error before it looks further: not text, not JSON, not an object, no known type. */
  const certainlyRefused = (r: Rendered, f: Frame): boolean => {
    if (r.binary) return true
    if (f.kind === 'bytes') return false // not UTF-8: the socket closes instead
    const text = typeof r.data === 'string' ? r.data : r.data.toString('utf8')
    if (Buffer.byteLength(text) > MAX_PAYLOAD) return false
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return true
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return true
    const type = (value as { type?: unknown }).type
    return typeof type !== 'string' || !Object.hasOwn(ClientFrames, type)
  }

  // ---------------------------------------------------------------- sockets
  interface Slot { url: string, token: string | undefined, socket: TestSocket }
  const open = async (url: string, withToken: string | undefined): Promise<TestSocket> =>
    withToken === undefined ? await TestSocket.open(url) : await TestSocket.ready(url, withToken)
  const slots = async (specs: Array<[string, string | undefined]>): Promise<Slot[]> =>
    await Promise.all(specs.map(async ([url, tok]) => ({ url, token: tok, socket: await open(url, tok) })))
  // Three signed in on the two gateways, one that has to send its auth frame (or fails to in time).
  const lenientSlots = await slots([[s.a.wsUrl, token], [s.b.wsUrl, token], [s.a.wsUrl, token], [s.b.wsUrl, undefined]])
  const defaultSlots = await slots([[defaultUrl, token], [defaultUrl, token]])
  t.teardown(() => { for (const slot of [...lenientSlots, ...defaultSlots]) slot.socket.close() })

  const tally = { answeredSends: 0, frames: 0, refused: 0, errors: 0, closes: new Map<number, number>(), reconnects: 0, codes: new Map<string, number>() }
  let probes = 0

  /**
   * Sends a batch on one socket, then a ping; what is wrong with what came
   * back, if anything. A signed-in socket must answer every send the
   * contract accepts (an ack, or an error with its id as ref) before the
   * batch is judged, so late answers are the batch's own.
   */
  const runBatch = async (pool: Slot[], batch: Batch): Promise<string | undefined> => {
    const slot = pool[batch.socket % pool.length] as Slot
    if (slot.socket.closeCode !== undefined) {
      slot.socket = await open(slot.url, slot.token)
      tally.reconnects++
    }
    const socket = slot.socket
    const signedIn = slot.token !== undefined
    socket.frames.length = 0
    let mustRefuse = 0
    let sentWhileOpen = 0
    const described: string[] = []
    const sends: Array<{ id: string, ref: string | number, text: string }> = []
    const all = batch.closer === null ? batch.frames : [...batch.frames, batch.closer]
    for (const f of all) {
      if (socket.ws.readyState !== socket.ws.OPEN) break
      const r = render(f)
      const text = typeof r.data === 'string' ? r.data : r.data.toString('latin1')
      socket.ws.send(r.data, { binary: r.binary })
      sentWhileOpen++
      tally.frames++
      if (certainlyRefused(r, f)) mustRefuse++
      const send = !r.binary && Buffer.byteLength(text) <= MAX_PAYLOAD ? validSend(text) : undefined
      if (send !== undefined) sends.push({ ...send, text: text.slice(0, 160) })
      described.push(`${r.binary ? 'binary' : 'text'} ${text.slice(0, 120)}`)
    }
    const ref = `probe-${++probes}`
    if (socket.ws.readyState === socket.ws.OPEN) socket.ws.send(JSON.stringify({ type: 'ping', ref }))
    const what = `after ${sentWhileOpen} frames on ${signedIn ? 'a signed-in' : 'an unauthenticated'} socket: ${described.slice(0, 6).join(' | ')}`
    const unanswered = (): typeof sends => {
      const acked = new Set(socket.frames.flatMap((f) => f.type === 'ack' ? [f.id] : []))
      const refused = new Set(socket.frames.flatMap((f) => f.type === 'error' && f.ref !== undefined ? [f.ref] : []))
      return sends.filter((x) => !acked.has(x.id) && !refused.has(x.ref))
    }
    const settled = (): boolean => {
      if (socket.closeCode !== undefined) return true
      if (!socket.frames.some((f) => 'ref' in f && f.ref === ref)) return false
      return !signedIn || unanswered().length === 0
    }
    try {
      await until(settled, PROBE_TIMEOUT_MS, 'the probe and the sends to be answered')
    } catch {
      const silent = unanswered().map((x) => x.text)
      const pong = socket.frames.some((f) => 'ref' in f && f.ref === ref)
      return pong
        ? `a send the contract accepts was never answered (no ack, no error) within ${PROBE_TIMEOUT_MS} ms: ${silent.slice(0, 2).join(' | ')}, ${what}`
        : `a hang: no answer to a ping within ${PROBE_TIMEOUT_MS} ms and no close, ${what}`
    }
    const errors = socket.frames.filter((f): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error')
    tally.errors += errors.length
    for (const e of errors) tally.codes.set(e.code, (tally.codes.get(e.code) ?? 0) + 1)
    const culprit = (e: { ref?: unknown }): string => {
      const send = sends.find((x) => x.ref === e.ref)
      return send === undefined ? '' : ` for ${send.text}`
    }
    const unknown = errors.find((e) => !isErrorCodeOf(ErrorCode, e.code))
    if (unknown !== undefined) return `an error frame with a code outside the contract (${JSON.stringify(unknown)})${culprit(unknown)}, ${what}`
    const fault = errors.find((e) => e.code === 'unavailable')
    if (fault !== undefined) return `an unavailable error with the stack up, a fault (${JSON.stringify(fault)})${culprit(fault)}, ${what}`
    if (socket.closeCode !== undefined) {
      tally.closes.set(socket.closeCode, (tally.closes.get(socket.closeCode) ?? 0) + 1)
      if (!DOCUMENTED.has(socket.closeCode) && !KNOWN_1007(socket.closeCode, all)) return `closed with ${socket.closeCode} (${socket.closeReason}), not a documented code, ${what}`
      return undefined
    }
    // Error frames for unreadable frames are sent as each is read, before the ping's pong.
    tally.refused += mustRefuse
    tally.answeredSends += sends.length
    const refusals = errors.filter((e) => e.code === 'bad_request' || e.code === 'too_large').length
    if (refusals < mustRefuse) return `${mustRefuse} frames that must be refused got ${refusals} bad_request or too_large errors, ${what}`
    return undefined
  }

  // Frames that end their socket (not UTF-8, over the payload limit) come
  // last in a batch, and in one batch of four, so most batches are judged whole.
  const closer: fc.Arbitrary<Frame> = fc.oneof(
    badUtf8.map((bytes): Frame => ({ kind: 'bytes', bytes, binary: false })),
    fc.constantFrom(1, 1_000).map((delta): Frame => ({ kind: 'sized', delta, frame: 'send' })),
    fc.constant<Frame>({ kind: 'sized', delta: 1, frame: 'ping' })
  )
  const batch = (sockets: number): fc.Arbitrary<Batch> => fc.record({
    socket: fc.nat(sockets - 1),
    frames: fc.array(frame, { minLength: 1, maxLength: BATCH, size: 'max' }),
    closer: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: closer })
  })
  const check = async (name: string, pool: Slot[], runs: number): Promise<void> => {
    const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
    const details = await fc.check(fc.asyncProperty(batch(pool.length), async (b) => {
      const problem = await runBatch(pool, b)
      if (problem !== undefined) throw new Error(problem)
    }), {
      numRuns: runs,
      ...(seed !== undefined && { seed }),
      ...(process.env.FUZZ_PATH !== undefined && { path: process.env.FUZZ_PATH }),
      // Every run, however busy the machine; a failure is reported unshrunk
      // unless replayed with FUZZ_SEED (see e2e/src/fuzz/http-fuzz.ts).
      endOnFailure: seed === undefined,
      includeErrorInReport: true
    })
    if (details.failed) t.fail(`${name}\n${fc.defaultReportMessage(details)}`)
    else t.pass(`${name}: ${details.numRuns} batches (seed ${details.seed})`)
  }

  await check('warm-up', lenientSlots, 10)
  const heapBefore = await settledHeap()
  const warm = tally.frames

  await check('frames to gateways with raised limits', lenientSlots, LENIENT_RUNS)
  const lenientFrames = tally.frames - warm
  await check('frames to a gateway with the default limits', defaultSlots, DEFAULT_LIMITS_RUNS)

  t.ok(tally.frames >= 10_000, `sent ${tally.frames} frames (${lenientFrames} past the warm-up to the raised limits, ${tally.frames - warm - lenientFrames} to the default ones), reconnecting ${tally.reconnects} times`)
  t.ok(tally.refused >= 500, `${tally.refused} frames had to be refused, and each got its error`)
  t.ok(tally.answeredSends >= 200, `${tally.answeredSends} sends the contract accepts, each answered with an ack or an error`)
  t.comment(`error codes: ${JSON.stringify(Object.fromEntries(tally.codes))}; closes: ${JSON.stringify(Object.fromEntries(tally.closes))}`)
  t.ok(tally.closes.get(CloseCode.tooLarge) !== undefined, 'some frames were over WS_MAX_PAYLOAD_BYTES and closed their socket with 1009')
  t.ok(tally.closes.get(CloseCode.rateLimited) !== undefined, 'the default limits closed some sockets with 4029')

  // The gateways are still up and serve new sockets.
  for (const url of [s.a.wsUrl, s.b.wsUrl, defaultUrl]) {
    const fresh = await TestSocket.ready(url, s.jwks.token(friend))
    fresh.send({ type: 'ping', ref: 'after' })
    t.equal((await fresh.next('pong')).ref, 'after', `a new socket on ${url} gets ready and a pong`)
    fresh.close()
  }
  t.equal((await fetch(`${s.a.url}/healthz`)).status, 200, 'the health check still answers')

  const logged = apps.flatMap((app) => app.logs.entries().filter((e) => Number(e.level) >= 50).map((e) => ({ app: app.name, msg: e.msg, method: e.method, err: (e.err as { message?: string } | undefined)?.message, at: (e.err as { stack?: string } | undefined)?.stack?.split('\n').slice(1, 4).join(' | ') })))
  t.equal(logged.length, 0, `no app logged an error${logged.length === 0 ? '' : `; ${JSON.stringify(logged.slice(0, 5)).slice(0, 1500)}`}`)

  for (const slot of [...lenientSlots, ...defaultSlots]) slot.socket.close()
  await until(() => [...lenientSlots, ...defaultSlots].every((slot) => slot.socket.closeCode !== undefined), 5_000, 'the fuzzing sockets to close')
  const heapAfter = await settledHeap()
  t.ok((heapAfter - heapBefore) / 2 ** 20 < 40, `the heap is back near its start: ${(heapBefore / 2 ** 20).toFixed(1)} MB before, ${(heapAfter / 2 ** 20).toFixed(1)} MB after`)
})

// ---------------------------------------------------------------- failures found

// Found by the fuzzing above (a regression test now): a text frame
// that is not UTF-8 is closed by ws with 1007 (RFC 6455's "invalid frame
// payload data"), a code the contract does not list (CloseCode, DESIGN.md
// "Close codes"). Either the contract documents 1007 or the gateway answers
// with one it lists; as it is, a client written to the contract meets a code
// it was never told of.
t.test('a text frame that is not UTF-8 closes the socket with a documented code', async (t) => {
  const s = await startStack(t, { gatewayEnv: { LOG_LEVEL: 'warn' }, writerEnv: { LOG_LEVEL: 'warn' } })
  const socket = await TestSocket.ready(s.a.wsUrl, s.jwks.token(await s.user()))
  socket.ws.send(Buffer.from([0xff]), { binary: false })
  const code = await socket.closed()
  t.ok(DOCUMENTED.has(code), `closed with one of ${[...DOCUMENTED].join(', ')} (got ${code})`)
})

// Found by the fuzzing above (a regression test now): the contract
// takes any integer from 1 as a seq; PostgreSQL's bigint stops at 2^63 - 1.
// Past it the writer's query fails, the writer logs an error and the client
// is told `unavailable` (try again: it never will work) instead of `bad_request`.
t.test('a receipt or history with a seq past 2^63 is a bad_request, and nothing logs an error', async (t) => {
  const s = await startStack(t, { gatewayEnv: { LOG_LEVEL: 'warn' }, writerEnv: { LOG_LEVEL: 'warn' } })
  const [me, friend] = await Promise.all([s.user(), s.user()])
  const token = s.jwks.token(me)
  const group = (await rest<{ conversation: { id: string } }>(s, s.a, me, 'POST', '/v1/conversations', { title: 'g', members: [friend] }, token)).body.conversation.id
  await until(async () => (await rest(s, s.a, me, 'GET', `/v1/conversations/${group}/messages`, undefined, token)).status === 200, 10_000, 'the writer to know the group')
  const socket = await TestSocket.ready(s.a.wsUrl, token)
  for (const frame of [
    `{"type":"receipt","conversationId":"${group}","seq":9223372036854775808,"kind":"read","ref":"receipt"}`,
    `{"type":"history","conversationId":"${group}","before":1e21,"ref":"history"}`
  ]) {
    socket.send(frame)
    const ref = (JSON.parse(frame) as { ref: string }).ref
    const answer = await socket.next('error', (e) => e.ref === ref)
    t.equal(answer.code, 'bad_request', `${ref}: bad_request (got ${answer.code}: ${answer.message})`)
  }
  socket.close()
  const logged = s.apps.flatMap((app) => app.logs.entries().filter((e) => Number(e.level) >= 50).map((e) => `${app.name}: ${String(e.msg)} ${String((e.err as { message?: string } | undefined)?.message)}`))
  t.same(logged, [], 'no app logged an error')
})
