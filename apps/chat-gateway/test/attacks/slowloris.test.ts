import t from 'tap'
import { connect, type Socket } from 'node:net'
import { directConversationId } from '@metadome/contracts'
import { signUp } from '@metadome/e2e'
import { until } from '@metadome/testing'
import { startStackWithAuthApi } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { say } from '../helpers/rest.js'

// Slowloris: hundreds of connections that each send a request a header line
// at a time (or a body a byte at a time) and never finish, to hold every
// socket the server has. Fastify sets no request timeout, and Node's
// header timeout is a minute, checked every 30 s. With HTTP_*_TIMEOUT_MS
// each trickle is answered 408 and closed, and both HTTP servers keep
// serving everyone else meanwhile.

const HEADERS_MS = 1_000
const REQUEST_MS = 1_500
const SLOW = 200
const timeouts = { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) }

interface Trickle { socket: Socket, closed: boolean, answer: string }

/** A connection that sends `head`, then a line of `drip` every 100 ms, and never ends its request. */
function trickle (url: string, head: string, drip: string): Trickle {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  const conn: Trickle = { socket, closed: false, answer: '' }
  socket.setEncoding('utf8')
  socket.on('data', (text: string) => { conn.answer += text })
  socket.on('error', () => {})
  socket.on('close', () => { conn.closed = true; clearInterval(timer) })
  socket.write(head)
  const timer = setInterval(() => { if (!socket.destroyed) socket.write(drip) }, 100)
  return conn
}

t.test('requests trickled header by header or byte by byte are answered 408 and closed; both servers serve others meanwhile', async (t) => {
  const s = await startStackWithAuthApi(t, { authEnv: timeouts, gatewayEnv: timeouts })
  const [alice, bob] = await Promise.all([signUp(s.auth, 'alice'), signUp(s.auth, 'bob')])
  const A = await TestSocket.ready(s.a.wsUrl, alice.accessToken)
  const B = await TestSocket.ready(s.a.wsUrl, bob.accessToken)
  t.teardown(() => { A.close(); B.close() })

  const targets = { 'auth-api': s.authUrl, 'chat-gateway': s.a.url }
  const slow: Array<{ server: string, kind: string, conn: Trickle }> = []
  for (const [server, url] of Object.entries(targets)) {
    for (let i = 0; i < SLOW; i++) {
      const headers = trickle(url, 'GET /healthz HTTP/1.1\r\nHost: metadome\r\n', `X-Slow-${i}: 1\r\n`)
      const body = trickle(url, 'POST /v1/auth/login HTTP/1.1\r\nHost: metadome\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{', ' ')
      slow.push({ server, kind: 'headers', conn: headers }, { server, kind: 'body', conn: body })
    }
  }
  t.teardown(() => { for (const { conn } of slow) conn.socket.destroy() })

  // While they trickle: a sign-in, a REST call of the gateway, and a message both ways.
  const login = await fetch(`${s.authUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }) })
  t.equal(login.status, 200, 'auth-api signs a user in')
  const list = await fetch(`${s.a.url}/v1/conversations`, { headers: { authorization: `Bearer ${alice.accessToken}` } })
  t.equal(list.status, 200, 'the gateway answers REST')
  const dm = directConversationId(alice.id, bob.id)
  await say(A, dm, { text: 'still here?' })
  t.ok(await B.next('message'), 'and relays a message')

  await until(() => slow.every(({ conn }) => conn.closed), 15_000, 'every trickle to be closed')
  for (const server of Object.keys(targets)) {
    for (const kind of ['headers', 'body']) {
      const mine = slow.filter((c) => c.server === server && c.kind === kind)
      const timedOut = mine.filter(({ conn }) => conn.answer.startsWith('HTTP/1.1 408')).length
      t.equal(timedOut, mine.length, `${server}: every trickled ${kind} got 408 before the close`, { answers: [...new Set(mine.map(({ conn }) => conn.answer.split('\r\n')[0]))] })
    }
  }

  // Past the request timeout, an upgraded socket is no request any more: it stays.
  await say(B, dm, { text: 'yes' })
  t.ok(await A.next('message'), 'the WebSockets opened before them still work')
  t.equal(A.closeCode, undefined, 'and were not closed by the request timeout')
})
