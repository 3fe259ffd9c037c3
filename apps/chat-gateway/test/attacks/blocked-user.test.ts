import t from 'tap'
import { directConversationId, type GroupChangeResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest, say } from '../helpers/rest.js'

// The harassment: a user keeps writing to someone who wants none of it, by
// direct message and by adding them to groups. Once blocked
// (PUT /v1/users/me/blocks/:userId), they cannot message, type to, or add to
// a group the user who blocked them, on any gateway (`forbidden`).

/** The status of a call that may answer 204 without a body. */
async function call (s: Awaited<ReturnType<typeof startStack>>, gateway: { url: string }, userId: string, method: string, path: string): Promise<number> {
  const res = await fetch(gateway.url + path, { method, headers: { authorization: `Bearer ${s.jwks.token(userId)}` } })
  await res.body?.cancel()
  return res.status
}

t.test('a blocked user cannot message, type to or add to a group the user who blocked them, on any gateway', async (t) => {
  const s = await startStack(t)
  const [victim, mallory, friend] = await Promise.all([s.user(), s.user(), s.user()])
  const dm = directConversationId(victim, mallory)
  const M = await TestSocket.ready(s.a.wsUrl, s.jwks.token(mallory))
  const V = await TestSocket.ready(s.b.wsUrl, s.jwks.token(victim))
  t.teardown(() => { M.close(); V.close() })

  await say(M, dm, { n: 'before' })
  await V.next('message', (f) => f.message.conversationId === dm)

  t.equal(await call(s, s.b, victim, 'PUT', `/v1/users/me/blocks/${mallory}`), 204, 'blocked')
  t.equal(await call(s, s.a, victim, 'PUT', `/v1/users/me/blocks/${mallory}`), 204, 'blocking again changes nothing')
  const listed = await rest<{ items: Array<{ userId: string }> }>(s, s.a, victim, 'GET', '/v1/users/me/blocks')
  t.same(listed.body.items.map((i) => i.userId), [mallory])

  // Both of mallory's ways, on the gateway that had her block list cached.
  M.send({ type: 'send', id: crypto.randomUUID(), conversationId: dm, body: { n: 'after' }, ref: 'dm' })
  t.equal((await M.next('error', (f) => f.ref === 'dm')).code, 'forbidden', 'a direct message over the socket is refused')
  const posted = await rest<{ error: { code: string } }>(s, s.b, mallory, 'POST', `/v1/conversations/${dm}/messages`, { id: crypto.randomUUID(), body: { n: 'rest' } })
  t.equal(posted.status, 403, 'and over REST')
  M.send({ type: 'typing', conversationId: dm, ref: 'typing' })
  t.equal((await M.next('error', (f) => f.ref === 'typing')).code, 'forbidden', 'typing too')

  const group = await rest<GroupChangeResponse & { error?: { code: string } }>(s, s.a, mallory, 'POST', '/v1/conversations', { title: 'you cannot leave', members: [victim, friend] })
  t.equal(group.status, 403, 'a group with the victim in it is refused')
  const own = await rest<GroupChangeResponse>(s, s.a, mallory, 'POST', '/v1/conversations', { title: 'just us', members: [friend] })
  t.equal(own.status, 201)
  const added = await rest(s, s.b, mallory, 'POST', `/v1/conversations/${own.body.conversation.id}/members`, { userId: victim })
  t.equal(added.status, 403, 'adding the victim to a group is refused')

  // The victim still writes to mallory if she wants to; the block is one-way.
  await say(V, dm, { n: 'from the victim' })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.notOk(V.frames.some((f) => f.type === 'message' && (f.message.body as { n?: unknown }).n === 'after'), 'nothing of mallory\'s after the block reached the victim')

  t.equal(await call(s, s.a, victim, 'DELETE', `/v1/users/me/blocks/${mallory}`), 204, 'unblocked')
  await until(async () => {
    M.send({ type: 'send', id: crypto.randomUUID(), conversationId: dm, body: { n: 'again' }, ref: 'again' })
    const answer = await M.next('ack', (f) => f.ref === 'again', 2_000).then(() => true, () => false)
    return answer || undefined
  }, 10_000, 'mallory may write again')
  t.pass('after the unblock mallory writes again, on the gateway that cached the block')
})

t.test('bad blocks: oneself, a stranger, a malformed id', async (t) => {
  const s = await startStack(t)
  const user = await s.user()
  t.equal(await call(s, s.a, user, 'PUT', `/v1/users/me/blocks/${user}`), 400, 'oneself: 400')
  t.equal(await call(s, s.a, user, 'PUT', `/v1/users/me/blocks/${crypto.randomUUID()}`), 404, 'no such user: 404')
  t.equal(await call(s, s.a, user, 'PUT', '/v1/users/me/blocks/not-a-uuid'), 400, 'a malformed id: 400')
  t.equal(await call(s, s.a, user, 'DELETE', `/v1/users/me/blocks/${crypto.randomUUID()}`), 204, 'unblocking someone never blocked: no change')
  const res = await fetch(`${s.a.url}/v1/users/me/blocks`)
  t.equal(res.status, 401, 'signed in only')
})
