import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CloseCode } from '@metadome/contracts'
import { signIn, signUp, PASSWORD } from '@metadome/e2e'
import { startStackWithAuthApi } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'

// The attack: after a logout (or a device signed out, or a password
// change), a socket opened with that session's access token stayed open and
// working until the token expired, and longer. Each ended session's sockets
// close with 4403 on every gateway; the user's other sessions stay.

async function answers (socket: TestSocket, ref: string): Promise<boolean> {
  socket.send({ type: 'ping', ref })
  return (await socket.next('pong', (f) => f.ref === ref)).ref === ref
}

async function closesWith (socket: TestSocket): Promise<{ code: number, ms: number }> {
  const started = Date.now()
  const code = await socket.closed(5_000)
  return { code, ms: Date.now() - started }
}

t.test('logout closes the sockets of that session within a second with 4403, and only those (the user\'s other session stays)', async (t) => {
  const s = await startStackWithAuthApi(t)
  const laptop = await signUp(s.auth, `bob${randomUUID().slice(0, 8)}`)
  const phone = await signIn(s.auth, laptop.username)
  const laptopA = await TestSocket.ready(s.a.wsUrl, laptop.accessToken)
  const laptopB = await TestSocket.ready(s.b.wsUrl, laptop.accessToken)
  const phoneB = await TestSocket.ready(s.b.wsUrl, phone.accessToken)

  const res = await s.auth.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken: laptop.refreshToken } })
  t.equal(res.statusCode, 204)
  for (const socket of [laptopA, laptopB]) {
    const closed = await closesWith(socket)
    t.equal(closed.code, CloseCode.forbidden, `closed with 4403 (after ${closed.ms} ms)`)
  }
  t.ok(await answers(phoneB, 'p'), "the user's other session keeps its socket")
  t.equal(phoneB.closeCode, undefined)

  const again = await TestSocket.open(s.a.wsUrl, laptop.accessToken)
  t.equal(await again.closed(), CloseCode.unauthorized, "the ended session's unexpired token opens no socket")
  const rest = await fetch(`${s.a.url}/v1/conversations`, { headers: { authorization: `Bearer ${laptop.accessToken}` } })
  t.equal(rest.status, 401, 'gateway REST routes refuse it too')
  const still = await fetch(`${s.a.url}/v1/conversations`, { headers: { authorization: `Bearer ${phone.accessToken}` } })
  t.equal(still.status, 200, "and take the other session's")
  phoneB.close()
})

t.test('signing a device out, or changing the password, closes that device\'s sockets and keeps the caller\'s', async (t) => {
  const s = await startStackWithAuthApi(t)
  const laptop = await signUp(s.auth, `carol${randomUUID().slice(0, 8)}`)
  const phone = await signIn(s.auth, laptop.username)
  const tablet = await signIn(s.auth, laptop.username)
  const sockets = {
    laptop: await TestSocket.ready(s.a.wsUrl, laptop.accessToken),
    phone: await TestSocket.ready(s.b.wsUrl, phone.accessToken),
    tablet: await TestSocket.ready(s.a.wsUrl, tablet.accessToken)
  }
  const sessions = await s.auth.inject({ method: 'GET', url: '/v1/auth/sessions', headers: laptop.auth })
  const phoneSession = JSON.parse(Buffer.from(phone.accessToken.split('.')[1] as string, 'base64url').toString()).sid as string
  t.ok(sessions.json<{ items: Array<{ id: string }> }>().items.some((i) => i.id === phoneSession))

  const ended = await s.auth.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phoneSession}`, headers: laptop.auth })
  t.equal(ended.statusCode, 204)
  t.equal((await closesWith(sockets.phone)).code, CloseCode.forbidden, 'the device signed out')
  t.ok(await answers(sockets.laptop, 'l1'), 'the caller stays')
  t.ok(await answers(sockets.tablet, 't1'), 'the other device stays')

  const changed = await s.auth.inject({ method: 'PATCH', url: `/v1/users/${laptop.id}`, headers: laptop.auth, payload: { password: 'another long passphrase here', currentPassword: PASSWORD } })
  t.equal(changed.statusCode, 200)
  t.equal((await closesWith(sockets.tablet)).code, CloseCode.forbidden, 'a password change signs the other devices out')
  t.ok(await answers(sockets.laptop, 'l2'), 'the device that changed it stays')
  sockets.laptop.close()
})
