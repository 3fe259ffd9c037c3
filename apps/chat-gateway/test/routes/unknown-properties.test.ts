import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { ConversationsResponse, ErrorResponse, GroupChangeResponse, MessagesResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { rest } from '../helpers/rest.js'

// DESIGN.md: "Unknown fields are rejected". The REST routes refuse a body,
// query or parameter with a property their schema does not name (400
// bad_request, nothing stored) instead of dropping it, and never coerce a
// body's types; the opaque message `body` still takes any JSON object.

t.test('REST bodies with an unknown property are refused with 400 bad_request, and nothing is created or sent', async (t) => {
  const s = await startStack(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const call = async <T = ErrorResponse>(method: string, path: string, body?: unknown): Promise<{ status: number, body: T }> =>
    await rest<T>(s, s.a, alice, method, path, body)

  const extraCreate = await call('POST', '/v1/conversations', { title: 'Team', members: [bob], admin: true })
  t.equal(extraCreate.status, 400)
  t.equal(extraCreate.body.error.code, 'bad_request')
  const created = await call<GroupChangeResponse>('POST', '/v1/conversations', { title: 'Team', members: [bob] })
  t.equal(created.status, 201, 'the same body without it is accepted')
  const group = created.body.conversation.id
  const listed = await until(async () => {
    const items = (await call<ConversationsResponse>('GET', '/v1/conversations')).body.items
    return items.some((c) => c.id === group) && items
  }, 10_000, 'the writer to store the group')
  t.same(listed.map((c) => c.id), [group], 'the refused body created no group')

  const extraSend = await call('POST', `/v1/conversations/${group}/messages`, { id: randomUUID(), body: { ciphertext: 'x' }, senderId: bob })
  t.equal(extraSend.status, 400)
  t.equal(extraSend.body.error.code, 'bad_request')
  const coerced = await call('POST', `/v1/conversations/${group}/messages`, { id: randomUUID(), body: 'not an object' })
  t.equal(coerced.status, 400, 'a body of the wrong type is not coerced')

  const id = randomUUID()
  const sent = await call('POST', `/v1/conversations/${group}/messages`, { id, body: { ciphertext: 'x', anything: { goes: [1] } } })
  t.equal(sent.status, 201, 'the opaque body takes any properties')
  // Once the writer has stored the accepted message, it is the only one.
  const history = await until(async () => {
    const res = await call<MessagesResponse>('GET', `/v1/conversations/${group}/messages`)
    return res.status === 200 && res.body.items.length > 0 && res.body.items
  }, 10_000, 'the writer to store the message')
  t.same(history.map((m) => m.id), [id], 'nothing of the refused sends was stored')

  for (const [method, path, body] of [
    ['POST', `/v1/conversations/${group}/members`, { userId: randomUUID(), role: 'admin' }],
    ['PATCH', `/v1/conversations/${group}`, { title: 'New', members: [] }],
    ['PATCH', `/v1/conversations/${group}/members/${bob}`, { role: 'admin', until: 'never' }]
  ] as const) {
    const res = await call(method, path, body)
    t.equal(res.status, 400, `${method} ${path}`)
    t.equal(res.body.error.code, 'bad_request')
  }
  const after = (await call<ConversationsResponse>('GET', '/v1/conversations')).body.items.find((c) => c.id === group)
  t.equal(after?.title, 'Team', 'not renamed')
  t.equal(after?.roles?.[bob], 'member', 'no role changed')
})

t.test('an unknown query parameter is refused; known ones are still read from text', async (t) => {
  const s = await startStack(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const created = await rest<GroupChangeResponse>(s, s.a, alice, 'POST', '/v1/conversations', { title: 'Q', members: [bob] })
  const group = created.body.conversation.id
  await until(async () => (await rest(s, s.a, alice, 'GET', `/v1/conversations/${group}/messages`)).status === 200, 10_000, 'the writer to store the group')
  const unknown = await rest<ErrorResponse>(s, s.a, alice, 'GET', `/v1/conversations/${group}/messages?limit=5&after=3`)
  t.equal(unknown.status, 400)
  t.equal(unknown.body.error.code, 'bad_request')
  const known = await rest<MessagesResponse>(s, s.a, alice, 'GET', `/v1/conversations/${group}/messages?limit=5&before=1000`)
  t.equal(known.status, 200)
  t.same(known.body, { items: [], hasMore: false })
  const bad = await rest<ErrorResponse>(s, s.a, alice, 'GET', `/v1/conversations/${group}/messages?limit=many`)
  t.equal(bad.status, 400, 'a limit that is no number')
})
