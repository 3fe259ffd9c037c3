import { randomUUID } from 'node:crypto'
import t from 'tap'
import { MAX_BODY_DEPTH, directConversationId } from '@metadome/contracts'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'

// Found by the frame fuzzer: a `send` over 64 KiB whose body nested ~5,000
// deep overflowed the stack in the frame reader's JSON.stringify, an
// uncaught RangeError that took the gateway down (no token needed: frames
// are read before authentication). Bodies now nest at most MAX_BODY_DEPTH.

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`

t.test('a body nested too deep is bad_request over the socket and REST, and the gateway serves on', async (t) => {
  const s = await startStack(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const dm = directConversationId(alice, bob)

  const stranger = await TestSocket.open(s.a.wsUrl)
  stranger.send(`{"type":"send","id":"${randomUUID()}","conversationId":"${dm}","body":{"pad":"${'x'.repeat(66_000)}","deep":${nested(6_000)}},"ref":"deep"}`)
  t.equal((await stranger.next('error', (f) => f.ref === 'deep')).code, 'bad_request', 'before authentication')
  stranger.close()

  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  t.teardown(() => { A.close() })
  A.send(`{"type":"send","id":"${randomUUID()}","conversationId":"${dm}","body":{"deep":${nested(MAX_BODY_DEPTH + 1)}},"ref":"over"}`)
  t.equal((await A.next('error', (f) => f.ref === 'over')).code, 'bad_request', `${MAX_BODY_DEPTH + 1} levels: refused`)
  A.send(`{"type":"send","id":"${randomUUID()}","conversationId":"${dm}","body":{"deep":${nested(MAX_BODY_DEPTH - 1)}},"ref":"at"}`)
  t.ok(await A.next('ack', (f) => f.ref === 'at'), `${MAX_BODY_DEPTH} levels (the body itself and ${MAX_BODY_DEPTH - 1} inside): stored`)

  const res = await fetch(`${s.b.url}/v1/conversations/${dm}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.jwks.token(alice)}`, 'content-type': 'application/json' },
    body: `{"id":"${randomUUID()}","body":{"pad":"${'x'.repeat(66_000)}","deep":${nested(6_000)}}}`
  })
  t.equal(res.status, 400, 'over REST: 400, not a 500')
  A.send({ type: 'ping', ref: 'alive' })
  t.equal((await A.next('pong')).ref, 'alive', 'the gateway still serves')
})
