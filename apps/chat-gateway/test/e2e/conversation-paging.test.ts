import t from 'tap'
import type { Conversation, GroupChangeResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest, say } from '../helpers/rest.js'

// The conversation list is paged (DESIGN.md "Limits against abuse"): a user
// in thousands of conversations got one reply that outgrew NATS's payload
// limit, and the request never answered. Now every reply holds at most
// `limit` conversations, and nextCursor leads through all of them.

const GROUPS = 12
const DIRECT = 3

interface Page { status: number, body: { items: Conversation[], nextCursor?: string, error?: { code: string } } }

t.test('the conversation list comes a page at a time, over REST and the socket, and reaches every conversation once', async (t) => {
  const s = await startStack(t)
  const [victim, alice, ...others] = await Promise.all([s.user(), s.user(), ...Array.from({ length: DIRECT }, async () => await s.user())])
  const ids = new Set<string>()
  for (let i = 0; i < GROUPS; i++) {
    const res = await rest<GroupChangeResponse>(s, i % 2 === 0 ? s.a : s.b, alice, 'POST', '/v1/conversations', { title: `g${i}`, members: [victim] })
    t.equal(res.status, 201)
    ids.add(res.body.conversation.id)
  }
  const V = await TestSocket.ready(s.a.wsUrl, s.jwks.token(victim))
  t.teardown(() => { V.close() })
  for (const other of others) {
    const O = await TestSocket.ready(s.b.wsUrl, s.jwks.token(other))
    const dm = [victim, other].sort().join('_')
    await say(O, `dm_${dm}`, { hello: true })
    ids.add(`dm_${dm}`)
    O.close()
  }
  const total = GROUPS + DIRECT
  await until(async () => (await rest<Page['body']>(s, s.a, victim, 'GET', `/v1/conversations?limit=${total}`)).body.items.length === total || undefined, 10_000, 'every conversation stored')

  const seen: Conversation[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const res: Page = await rest(s, pages % 2 === 0 ? s.a : s.b, victim, 'GET', `/v1/conversations?limit=4${cursor === undefined ? '' : `&cursor=${cursor}`}`)
    t.equal(res.status, 200)
    t.ok(res.body.items.length <= 4, 'no page holds more than its limit')
    seen.push(...res.body.items)
    cursor = res.body.nextCursor
    pages++
  } while (cursor !== undefined && pages < 10)
  t.equal(pages, Math.ceil(total / 4), 'pages of 4 until the last')
  t.same(new Set(seen.map((c) => c.id)), ids, 'every conversation, over REST')
  t.equal(seen.length, total, 'each once')
  const order = seen.map((c) => c.lastSeq)
  t.same(order, [...order].sort((a, b) => b - a), 'newest activity first across the pages')

  const byFrame: Conversation[] = []
  let after: string | undefined
  for (let i = 0; i < 10; i++) {
    V.send({ type: 'conversations', limit: 6, ref: `p${i}`, ...(after === undefined ? {} : { after }) })
    const reply = await V.next('conversations', (f) => f.ref === `p${i}`)
    byFrame.push(...reply.items)
    after = reply.nextCursor
    if (after === undefined) break
  }
  t.same(byFrame.map((c) => c.id), seen.map((c) => c.id), 'the socket pages through the same list')

  const first = await rest<Page['body']>(s, s.a, victim, 'GET', '/v1/conversations')
  t.equal(first.body.items.length, total, 'without a limit, a page of 100')
  t.equal(first.body.nextCursor, undefined)
})

t.test('a cursor the list did not make, or a limit out of range, is refused', async (t) => {
  const s = await startStack(t)
  const user = await s.user()
  for (const query of ['cursor=bm90LWEtY3Vyc29y', 'cursor=MTIzOnh4', 'cursor=%21%21', 'limit=0', 'limit=201', 'limit=abc']) {
    const res = await rest<{ error: { code: string } }>(s, s.a, user, 'GET', `/v1/conversations?${query}`)
    t.equal(res.status, 400, query)
    t.equal(res.body.error.code, 'bad_request', query)
  }
  const U = await TestSocket.ready(s.a.wsUrl, s.jwks.token(user))
  t.teardown(() => { U.close() })
  U.send({ type: 'conversations', after: 'bm90LWEtY3Vyc29y', ref: 'bad' })
  t.equal((await U.next('error', (f) => f.ref === 'bad')).code, 'bad_request', 'the socket says bad_request too')
})
