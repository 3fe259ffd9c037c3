import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode } from '@metadome/contracts'
import type { Teardown } from '@metadome/testing'
import { startJwksServer, type JwksServer } from '@metadome/e2e'
import { build, type TestGateway } from '../helpers/gateway.js'
import { TestSocket } from '../helpers/ws-client.js'

// The attack: a token is valid for minutes, but a socket opened with it was
// kept for days. A stolen token opened once must not outlive its expiry.

const GRACE_MS = 500

async function gateway (t: Teardown): Promise<{ jwks: JwksServer, gw: TestGateway }> {
  const jwks = await startJwksServer(t)
  const gw = await build(t, { AUTH_URL: jwks.url, WS_TOKEN_GRACE_MS: String(GRACE_MS) })
  return { jwks, gw }
}

async function answers (socket: TestSocket, ref: string): Promise<boolean> {
  socket.send({ type: 'ping', ref })
  return (await socket.next('pong', (f) => f.ref === ref)).ref === ref
}

t.test('a socket whose token expired and was not renewed is closed with 4401', async (t) => {
  const { jwks, gw } = await gateway(t)
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(randomUUID(), { expiresIn: 2 }))
  t.ok(await answers(socket, 'p1'), 'it works while the token is good')
  const started = Date.now()
  t.equal(await socket.closed(10_000), CloseCode.unauthorized)
  t.ok(Date.now() - started >= 1_000, 'not before the token expired')
  t.equal(socket.closeReason, 'token expired')
})

t.test('a socket renewed with a fresh token stays open past the first token\'s expiry', async (t) => {
  const { jwks, gw } = await gateway(t)
  const userId = randomUUID()
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(userId, { expiresIn: 2 }))
  socket.send({ type: 'auth', token: jwks.token(userId, { expiresIn: 60 }), ref: 'renew' })
  const authed = await socket.next('authed', (f) => f.ref === 'renew')
  t.ok(Math.abs(Date.parse(authed.expiresAt) - (Date.now() + 60_000)) < 5_000, 'expiresAt is the new token\'s expiry')
  await new Promise((resolve) => setTimeout(resolve, 2_000 + 2 * GRACE_MS + 1_000))
  t.equal(socket.closeCode, undefined, 'still open')
  t.ok(await answers(socket, 'p2'), 'and working')
  socket.close()
})

t.test('a renewal with a bad token, or one of another user, is refused and changes nothing', async (t) => {
  const { jwks, gw } = await gateway(t)
  const userId = randomUUID()
  const socket = await TestSocket.ready(gw.wsUrl, jwks.token(userId, { expiresIn: 2 }))
  socket.send({ type: 'auth', token: jwks.token(randomUUID(), { expiresIn: 600 }), ref: 'other' })
  t.equal((await socket.next('error', (f) => f.ref === 'other')).code, 'forbidden', "another user's token")
  socket.send({ type: 'auth', token: jwks.token(userId, { expiresIn: -10 }), ref: 'expired' })
  t.equal((await socket.next('error', (f) => f.ref === 'expired')).code, 'unauthorized', 'an expired token')
  socket.send({ type: 'auth', token: 'not.a.token', ref: 'garbage' })
  t.equal((await socket.next('error', (f) => f.ref === 'garbage')).code, 'unauthorized', 'garbage')
  socket.send({ type: 'auth', token: jwks.token(userId, { expiresIn: 600, sessionId: null }), ref: 'nosid' })
  t.equal((await socket.next('error', (f) => f.ref === 'nosid')).code, 'unauthorized', 'a token without a session')
  t.ok(await answers(socket, 'p'), 'the socket still lives on its first token')
  t.equal(await socket.closed(10_000), CloseCode.unauthorized, '...and ends with it')
})

t.test('a token without a session (sid) opens no socket', async (t) => {
  const { jwks, gw } = await gateway(t)
  const socket = await TestSocket.open(gw.wsUrl, jwks.token(randomUUID(), { sessionId: null }))
  t.equal(await socket.closed(), CloseCode.unauthorized)
})
