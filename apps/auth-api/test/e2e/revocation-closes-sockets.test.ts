import t from 'tap'
import WebSocket from 'ws'
import { until } from '@metadome/testing'
import { startStack, signIn, signUp } from '@metadome/e2e'

// auth-api's session revocations reach the gateways through the events they
// already follow (sessions_revoked, naming sessions): the sockets close with
// 4403, as DESIGN.md "Sessions on an open socket" says.

const stack = await startStack(t, { gateways: 1 })
const gateway = stack.gatewayUrls[0] ?? ''

interface Socket { ws: WebSocket, closed: () => number | undefined, pong: () => Promise<void> }

async function open (token: string): Promise<Socket> {
  const ws = new WebSocket(gateway, { headers: { authorization: `Bearer ${token}` } })
  let code: number | undefined
  const frames: Array<{ type: string }> = []
  ws.on('message', (data) => { frames.push(JSON.parse(data.toString()) as { type: string }) })
  ws.on('close', (c) => { code = c })
  ws.on('error', () => {})
  await until(() => frames.some((f) => f.type === 'ready'), 10_000, 'ready')
  t.teardown(() => { ws.terminate() })
  return {
    ws,
    closed: () => code,
    pong: async () => {
      ws.send(JSON.stringify({ type: 'ping' }))
      await until(() => frames.some((f) => f.type === 'pong'), 10_000, 'pong')
    }
  }
}

t.test('revoking one session closes its socket with 4403 and leaves the others open', async (t) => {
  const phone = await signUp(stack.auth, 'alice')
  const laptop = await signIn(stack.auth, 'alice')
  const phoneSocket = await open(phone.accessToken)
  const laptopSocket = await open(laptop.accessToken)

  const sessions = await stack.auth.inject({ url: '/v1/auth/sessions', headers: laptop.auth })
  const other = sessions.json().items.find((s: { current: boolean }) => !s.current)
  const res = await stack.auth.inject({ method: 'DELETE', url: `/v1/auth/sessions/${other.id as string}`, headers: laptop.auth })
  t.equal(res.statusCode, 204)

  t.equal(await until(() => phoneSocket.closed(), 10_000, 'the phone\'s socket to close'), 4403)
  await laptopSocket.pong()
  t.equal(laptopSocket.closed(), undefined, 'the laptop\'s socket is still open')

  t.test('disabling the user closes every socket they have left', async (t) => {
    const root = await signUp(stack.auth, 'root')
    await stack.sql.query('update auth.users set role = $1 where id = $2', ['admin', root.id])
    const tablet = await signIn(stack.auth, 'alice')
    const tabletSocket = await open(tablet.accessToken)
    const res = await stack.auth.inject({ method: 'PATCH', url: `/v1/users/${phone.id}`, headers: root.auth, payload: { disabled: true } })
    t.equal(res.statusCode, 200)
    t.equal(await until(() => laptopSocket.closed(), 10_000, 'the laptop\'s socket to close'), 4403)
    t.equal(await until(() => tabletSocket.closed(), 10_000, 'the tablet\'s socket to close'), 4403)
  })
})
