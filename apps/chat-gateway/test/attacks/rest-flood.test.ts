import t from 'tap'
import { startStack } from '../helpers/stack.js'

// The flood: one signed-in user hammering a gateway's REST routes (history,
// the conversation list, blocking: each block change costs a database write
// and a notice to every gateway) as fast as it answers. Beyond
// REST_RATE_LIMIT_PER_MINUTE per user and gateway: 429 rate_limited.

const LIMIT = 5

t.test('REST requests beyond the per-user limit are 429 rate_limited with Retry-After; other users are untouched', async (t) => {
  const s = await startStack(t, { gatewayEnv: { REST_RATE_LIMIT_PER_MINUTE: String(LIMIT) } })
  const [mallory, alice] = await Promise.all([s.user(), s.user()])
  const get = async (userId: string, path = '/v1/conversations'): Promise<Response> =>
    await fetch(s.a.url + path, { headers: { authorization: `Bearer ${s.jwks.token(userId)}` } })

  const statuses: number[] = []
  for (let i = 0; i < LIMIT; i++) statuses.push((await get(mallory)).status)
  t.same(statuses, Array<number>(LIMIT).fill(200), `${LIMIT} answered`)
  const over = await get(mallory, '/v1/conversations?limit=1')
  t.equal(over.status, 429, 'the next is refused')
  t.equal((await over.json() as { error: { code: string } }).error.code, 'rate_limited')
  t.ok(Number(over.headers.get('retry-after')) > 0, 'with Retry-After')
  t.equal((await get(alice)).status, 200, 'another user still gets answers')
  t.equal((await fetch(s.a.url + '/v1/conversations')).status, 401, 'without a token: 401, before any counting')
})

t.test('block changes count against the same limit', async (t) => {
  const s = await startStack(t, { gatewayEnv: { REST_RATE_LIMIT_PER_MINUTE: String(LIMIT) } })
  const [mallory, alice] = await Promise.all([s.user(), s.user()])
  const statuses: number[] = []
  for (let i = 0; i <= LIMIT; i++) {
    const res = await fetch(`${s.a.url}/v1/users/me/blocks/${alice}`, { method: i % 2 === 0 ? 'PUT' : 'DELETE', headers: { authorization: `Bearer ${s.jwks.token(mallory)}` } })
    statuses.push(res.status)
  }
  t.same(statuses, [...Array<number>(LIMIT).fill(204), 429], `${LIMIT} block changes, then 429`)
  const list = await fetch(`${s.a.url}/v1/users/me/blocks`, { headers: { authorization: `Bearer ${s.jwks.token(mallory)}` } })
  t.equal(list.status, 429, 'and the block list is counted too')
})
