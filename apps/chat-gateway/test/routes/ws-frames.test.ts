import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode } from '@metadome/contracts'
import { startJwksServer } from '@metadome/e2e'
import { build } from '../helpers/gateway.js'
import { TestSocket } from '../helpers/ws-client.js'

t.test('each bad frame gets an error frame with its code and ref, and the socket stays open', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const me = randomUUID()
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(me))
  const id = randomUUID()
  const cases: Array<[string, unknown, string, unknown]> = [
    ['invalid JSON', '{"type":', 'bad_request', undefined],
    ['not an object', '[1,2]', 'bad_request', undefined],
    ['no type', { ref: 'r1' }, 'bad_request', 'r1'],
    ['unknown type', { type: 'teleport', ref: 'r2' }, 'bad_request', 'r2'],
    ['send without body (ref = message id)', { type: 'send', id, to: randomUUID() }, 'bad_request', id],
    ['send with a non-uuid id', { type: 'send', id: 'x', to: randomUUID(), body: {}, ref: 'r3' }, 'bad_request', 'r3'],
    ['send to a bad conversation id', { type: 'send', id, conversationId: 'general', body: {} }, 'bad_request', id],
    ['send with an unknown field', { type: 'send', id, to: randomUUID(), body: {}, extra: 1 }, 'bad_request', id],
    ['body over 64 KiB', { type: 'send', id, to: randomUUID(), body: { ciphertext: 'x'.repeat(70 * 1024) } }, 'too_large', id],
    ['sync with a negative cursor', { type: 'sync', after: -1, ref: 'r4' }, 'bad_request', 'r4'],
    ['receipt of an unknown kind', { type: 'receipt', conversationId: randomUUID(), seq: 1, kind: 'seen', ref: 'r5' }, 'bad_request', 'r5'],
    ['history with too high a limit', { type: 'history', conversationId: randomUUID(), limit: 100000, ref: 'r6' }, 'bad_request', 'r6']
  ]
  for (const [name, frame, code, ref] of cases) {
    socket.send(frame)
    const error = await socket.next('error')
    t.equal(error.code, code, name)
    t.same(error.ref, ref, `${name}: ref`)
  }
  socket.send({ type: 'ping', ref: 'still-open' })
  t.equal((await socket.next('pong')).ref, 'still-open')
  socket.close()
})

t.test('a frame over the transport limit closes the socket with 1009', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID()))
  socket.send({ type: 'send', id: randomUUID(), to: randomUUID(), body: { ciphertext: 'x'.repeat(200 * 1024) } })
  t.equal(await socket.closed(), CloseCode.tooLarge)
})

t.test('a client that keeps sending garbage gets rate_limited, then is closed with 4029', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, WS_MAX_BAD_FRAMES: '5' })
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID()))
  for (let i = 0; i < 5; i++) socket.send('garbage')
  await socket.next('error', (e) => e.code === 'rate_limited')
  t.equal(await socket.closed(), CloseCode.rateLimited)
  t.equal(socket.frames.filter((f) => f.type === 'error').length, 4, 'four bad_request errors before')
})

t.test('a client over its frame rate gets rate_limited, then is closed with 4029', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, WS_RATE_PER_SECOND: '1', WS_RATE_BURST: '10' })
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID()))
  for (let i = 0; i < 30; i++) socket.send({ type: 'ping' })
  await socket.next('error', (e) => e.code === 'rate_limited')
  t.equal(await socket.closed(), CloseCode.rateLimited)
})

t.test('ping gets pong with the same ref', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID()))
  socket.send({ type: 'ping', ref: 42 })
  t.same(await socket.next('pong'), { type: 'pong', ref: 42 })
  socket.close()
})
