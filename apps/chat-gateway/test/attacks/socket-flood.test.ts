import t from 'tap'
import { CloseCode } from '@metadome/contracts'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'

// The flood: one user opening sockets until the gateway runs out of memory
// or file descriptors. Beyond WS_MAX_SOCKETS_PER_USER on one gateway, a new
// socket is told `rate_limited` and closed with 4429; the ones it has stay.

const MAX = 3

t.test('sockets beyond WS_MAX_SOCKETS_PER_USER are closed with 4429; the others and other users are untouched', async (t) => {
  const s = await startStack(t, { gatewayEnv: { WS_MAX_SOCKETS_PER_USER: String(MAX) } })
  const [mallory, alice] = await Promise.all([s.user(), s.user()])
  const open = await Promise.all(Array.from({ length: MAX }, async () => await TestSocket.ready(s.a.wsUrl, s.jwks.token(mallory))))
  t.teardown(() => { for (const socket of open) socket.close() })

  // Several at once: the check and the count cannot be raced past.
  const extra = await Promise.all(Array.from({ length: 3 }, async () => await TestSocket.open(s.a.wsUrl, s.jwks.token(mallory))))
  for (const socket of extra) {
    t.equal(await socket.closed(), CloseCode.tooManySockets, 'closed with 4429')
    const said = socket.frames.find((f) => f.type === 'error')
    t.equal(said?.type === 'error' ? said.code : undefined, 'rate_limited', 'after an error frame saying rate_limited')
  }
  t.ok(open.every((socket) => socket.closeCode === undefined), 'the sockets it had stay open')

  const other = await TestSocket.ready(s.b.wsUrl, s.jwks.token(mallory))
  t.ok(other, 'the limit is per gateway: another gateway takes one more')
  other.close()
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  t.ok(A, 'another user is not affected')
  A.close()

  open.pop()?.close()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const again = await TestSocket.ready(s.a.wsUrl, s.jwks.token(mallory))
  t.ok(again, 'once one closes, a new one is taken')
  again.close()
})
