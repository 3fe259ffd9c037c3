import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode } from '@metadome/contracts'
import { startJwksServer } from '@metadome/e2e'
import { build } from '../helpers/gateway.js'
import { TestSocket } from '../helpers/ws-client.js'

t.test('a socket with a valid Bearer token gets ready with its user id', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const userId = randomUUID()
  const socket = await TestSocket.open(gw.wsUrl, jwks.token(userId))
  const ready = await socket.next('ready')
  t.equal(ready.userId, userId)
  t.type(ready.connectionId, 'string')
  socket.close()
})

t.test('a plain GET of the WebSocket endpoint is a 426 with the security headers every answer carries', async (t) => {
  const gw = await build(t)
  const res = await gw.app.inject('/v1/ws')
  t.equal(res.statusCode, 426)
  t.equal(res.headers.upgrade, 'websocket')
  t.equal(res.json().error.code, 'bad_request')
  t.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'")
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['x-frame-options'], 'DENY')
})

t.test('a browser authenticates with a first auth frame and gets ready with its ref', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const userId = randomUUID()
  const socket = await TestSocket.open(gw.wsUrl)
  socket.send({ type: 'auth', token: jwks.token(userId), ref: 'a1' })
  socket.send({ type: 'ping', ref: 'p1' })
  const ready = await socket.next('ready')
  t.equal(ready.userId, userId)
  t.equal(ready.ref, 'a1')
  t.equal((await socket.next('pong')).ref, 'p1', 'a frame sent right after auth is answered once ready')
  socket.close()
})

t.test('a socket that sends no auth frame in time is closed with 4408', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, WS_AUTH_TIMEOUT_MS: '200' })
  const socket = await TestSocket.open(gw.wsUrl)
  t.equal(await socket.closed(), CloseCode.authTimeout)
})

t.test('a request before authentication gets unauthorized', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const socket = await TestSocket.open(gw.wsUrl)
  socket.send({ type: 'ping', ref: 7 })
  const error = await socket.next('error')
  t.equal(error.code, 'unauthorized')
  t.equal(error.ref, 7)
  socket.close()
})

t.test('an expired token is closed with 4401', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const socket = await TestSocket.open(gw.wsUrl, jwks.token(randomUUID(), { expiresIn: -5 }))
  t.equal(await socket.closed(), CloseCode.unauthorized)
})

t.test('a bad token in the auth frame is closed with 4401', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url })
  const socket = await TestSocket.open(gw.wsUrl)
  socket.send({ type: 'auth', token: 'not.a.token' })
  t.equal(await socket.closed(), CloseCode.unauthorized)
})

t.test('a token for another audience is closed with 4401', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, JWT_AUDIENCE: 'chat' })
  const socket = await TestSocket.open(gw.wsUrl, jwks.token(randomUUID(), { aud: 'metadome' }))
  t.equal(await socket.closed(), CloseCode.unauthorized)
})

t.test('when the JWKS cannot be fetched, the socket is told to try again later (1013), not 4401', async (t) => {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: 'http://127.0.0.1:1' })
  const socket = await TestSocket.open(gw.wsUrl, jwks.token(randomUUID()))
  t.equal((await socket.next('error')).code, 'unavailable')
  t.equal(await socket.closed(), CloseCode.tryAgainLater)
})
