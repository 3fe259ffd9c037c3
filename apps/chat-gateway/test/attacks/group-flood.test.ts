import t from 'tap'
import type { Conversation, GroupChangeResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest, say } from '../helpers/rest.js'

// The flood: one account created 4,000 two-person groups with a victim in
// under a minute through POST /v1/conversations, and as many additions,
// with nothing to stop it. Group creations and member additions are now
// limited per user and hour (GROUP_CREATIONS_PER_HOUR,
// GROUP_ADDITIONS_PER_HOUR of message-writer), counted from what the writer
// stored, so every gateway sees the same count.

const CREATIONS = 5
const ADDITIONS = 4

t.test('group creations and member additions beyond the hourly limit are rate_limited, on every gateway', async (t) => {
  const s = await startStack(t, { writerEnv: { GROUP_CREATIONS_PER_HOUR: String(CREATIONS), GROUP_ADDITIONS_PER_HOUR: String(ADDITIONS) } })
  const [mallory, victim, other] = await Promise.all([s.user(), s.user(), s.user()])

  const statuses: number[] = []
  const groups: string[] = []
  for (let i = 0; i < CREATIONS + 3; i++) {
    // Alternating gateways: the limit is the writer's, not one process's.
    const res = await rest<GroupChangeResponse & { error?: { code: string } }>(s, i % 2 === 0 ? s.a : s.b, mallory, 'POST', '/v1/conversations', { title: `spam ${i}`, members: [victim] })
    statuses.push(res.status)
    if (res.status === 201) groups.push(res.body.conversation.id)
    else t.equal(res.body.error?.code, 'rate_limited', `creation ${i + 1} is refused as rate_limited`)
  }
  t.same(statuses.filter((c) => c === 201).length, CREATIONS, `${CREATIONS} creations pass`)
  t.same(statuses.slice(CREATIONS), [429, 429, 429], 'the ones after them are 429')

  const [group] = groups
  if (group === undefined) throw new Error('no group was created')
  const added: number[] = []
  for (let i = 0; i < ADDITIONS + 2; i++) {
    const someone = await s.user()
    added.push((await rest(s, i % 2 === 0 ? s.a : s.b, mallory, 'POST', `/v1/conversations/${group}/members`, { userId: someone })).status)
  }
  t.same(added, [...Array<number>(ADDITIONS).fill(200), 429, 429], `${ADDITIONS} additions pass, then 429`)

  // A refused change does not use up the limit: 20 creations with a user
  // who does not exist (not_found), then the other user's creations pass.
  for (let i = 0; i < 20; i++) {
    t.equal((await rest(s, s.a, other, 'POST', '/v1/conversations', { title: `typo ${i}`, members: [crypto.randomUUID()] })).status, 404)
  }
  const fair = await rest<GroupChangeResponse>(s, s.a, other, 'POST', '/v1/conversations', { title: 'ours', members: [victim] })
  t.equal(fair.status, 201, 'another user is not affected by the flooder\'s limit')
  // And one direct conversation, so the pages mix both kinds.
  const O = await TestSocket.ready(s.a.wsUrl, s.jwks.token(other))
  const dm = `dm_${[victim, other].sort().join('_')}`
  await say(O, dm, { hello: true })
  O.close()
  const expected = new Set([...groups, fair.body.conversation.id, dm])
  // The writer stores the last creation a moment after its 201.
  const listed = await until(async () => {
    const list = await rest<{ items: Array<{ id: string }> }>(s, s.b, victim, 'GET', '/v1/conversations')
    return list.body.items.some((c) => c.id === fair.body.conversation.id) && list.body.items.some((c) => c.id === dm) ? list.body.items : undefined
  }, 10_000, 'the last group and the direct conversation stored')
  t.equal(listed.filter((c) => !c.id.startsWith('dm_')).length, CREATIONS + 1, 'the victim is in no more groups than the limit let through')

  // The victim still lists its conversations, page by page, over REST...
  const LIMIT = 2
  interface Page { items: Conversation[], nextCursor?: string }
  const seen: string[] = []
  let cursor: string | undefined
  let last: Page | undefined
  for (let pages = 0; pages < 20; pages++) {
    const res = await rest<Page>(s, pages % 2 === 0 ? s.a : s.b, victim, 'GET', `/v1/conversations?limit=${LIMIT}${cursor === undefined ? '' : `&cursor=${cursor}`}`)
    t.equal(res.status, 200, `page ${pages + 1} answers`)
    t.ok(res.body.items.length <= LIMIT, `page ${pages + 1} holds at most ${LIMIT}`)
    for (const c of res.body.items) t.notOk(seen.includes(c.id), `${c.id} on no earlier page`)
    seen.push(...res.body.items.map((c) => c.id))
    last = res.body
    cursor = res.body.nextCursor
    if (cursor === undefined) break
  }
  t.equal(last?.nextCursor, undefined, 'the last page has no nextCursor')
  t.same(new Set(seen), expected, 'the pages hold every conversation of the victim')
  t.equal(seen.length, expected.size, 'each once')

  // ...and over the socket.
  const V = await TestSocket.ready(s.b.wsUrl, s.jwks.token(victim))
  t.teardown(() => { V.close() })
  const byFrame: string[] = []
  let after: string | undefined
  let lastFrame: { nextCursor?: string } | undefined
  for (let i = 0; i < 20; i++) {
    V.send({ type: 'conversations', limit: LIMIT, ref: `p${i}`, ...(after === undefined ? {} : { after }) })
    const reply = await V.next('conversations', (f) => f.ref === `p${i}`)
    t.ok(reply.items.length <= LIMIT, `frame page ${i + 1} holds at most ${LIMIT}`)
    for (const c of reply.items) t.notOk(byFrame.includes(c.id), `${c.id} in no earlier frame`)
    byFrame.push(...reply.items.map((c) => c.id))
    lastFrame = reply
    after = reply.nextCursor
    if (after === undefined) break
  }
  t.equal(lastFrame?.nextCursor, undefined, 'the last frame has no nextCursor')
  t.same(new Set(byFrame), expected, 'the socket pages through every conversation of the victim')
  t.equal(byFrame.length, expected.size, 'each once, over the socket')
})
