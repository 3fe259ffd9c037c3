import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { ChatRpcError, chatRpc, namespace, type ChatRpcClient, type ChatRpcMethod, type ChatRpcRequest, type ChatRpcResult } from '@metadome/contracts'
import { createTestNamespace, testNatsUrl } from '@metadome/testing'
import { MembershipBatches } from '../../src/chat/membership-batches.js'

// The batching alone, against a writer stand-in that records its calls (the
// writer's side of conversations.membershipsOf is tested against PostgreSQL
// in message-writer's rpc tests, the connects through it in the gateway's).

interface Call { method: ChatRpcMethod, request: unknown }

function writer (answer: (method: ChatRpcMethod, request: never) => unknown): { client: ChatRpcClient, calls: Call[] } {
  const calls: Call[] = []
  const client: ChatRpcClient = {
    async call<M extends ChatRpcMethod> (method: M, request: ChatRpcRequest<M>): Promise<ChatRpcResult<M>> {
      calls.push({ method, request })
      await new Promise((resolve) => setImmediate(resolve))
      return answer(method, request as never) as ChatRpcResult<M>
    }
  }
  return { client, calls }
}

// One group per user, its id a uuid of its own (a conversation id as the contract has it).
const groups = new Map<string, string>()
const pageOf = (userId: string): { items: Array<{ conversationId: string, joinedSeq: number }> } => {
  let group = groups.get(userId)
  if (group === undefined) groups.set(userId, group = randomUUID())
  return { items: [{ conversationId: group, joinedSeq: 3 }] }
}

t.test('users asked for in one turn share one request; a lone user is asked for alone', async (t) => {
  const { client, calls } = writer((method, request: { userIds?: string[], userId?: string }) => method === 'conversations.membershipsOf'
    ? { users: (request.userIds ?? []).map((userId) => ({ userId, ...pageOf(userId) })) }
    : pageOf(request.userId ?? ''))
  const batches = new MembershipBatches(client)
  const users = Array.from({ length: 5 }, () => randomUUID())
  const pages = await Promise.all([...users, users[0] as string].map(async (u) => await batches.firstPage(u)))
  t.same(pages, [...users, users[0] as string].map(pageOf), 'each user gets their page, a user asked twice too')
  t.same(calls, [{ method: 'conversations.membershipsOf', request: { userIds: users } }], 'one request, each user once')

  calls.length = 0
  const lone = randomUUID()
  t.same(await batches.firstPage(lone), pageOf(lone))
  t.same(calls, [{ method: 'conversations.memberships', request: { userId: lone } }], 'alone: the single-user method')
})

t.test('users asked for while a request is under way go in the next one, at most maxUsers each', async (t) => {
  const { client, calls } = writer((method, request: { userIds?: string[], userId?: string }) => method === 'conversations.membershipsOf'
    ? { users: (request.userIds ?? []).map((userId) => ({ userId, ...pageOf(userId) })) }
    : pageOf(request.userId ?? ''))
  const batches = new MembershipBatches(client, { maxUsers: 3 })
  const first = [randomUUID(), randomUUID()]
  const asked = first.map(async (u) => await batches.firstPage(u))
  await new Promise((resolve) => setImmediate(resolve))
  const later = Array.from({ length: 4 }, () => randomUUID())
  asked.push(...later.map(async (u) => await batches.firstPage(u)))
  await Promise.all(asked)
  t.same(calls.map((c) => (c.request as { userIds?: string[] }).userIds), [first, later.slice(0, 3), [later[3]]].map((ids) => ids.length === 1 ? undefined : ids))
  t.same(calls.at(-1), { method: 'conversations.memberships', request: { userId: later[3] } })
})

t.test('users the reply left out are asked for one by one', async (t) => {
  const users = [randomUUID(), randomUUID(), randomUUID()]
  const { client, calls } = writer((method, request: { userIds?: string[], userId?: string }) => method === 'conversations.membershipsOf'
    ? { users: [{ userId: users[0], ...pageOf(users[0] as string) }] }
    : pageOf(request.userId ?? ''))
  const batches = new MembershipBatches(client)
  t.same(await Promise.all(users.map(async (u) => await batches.firstPage(u))), users.map(pageOf))
  t.same(calls.slice(1).map((c) => c.request).sort(), [{ userId: users[1] }, { userId: users[2] }].sort())
})

t.test('while no writer serves membershipsOf (older ones), one by one; any other failure fails the batch', async (t) => {
  // What a request that no writer subscribes to fails with, from NATS itself.
  const nc = await connect({ servers: testNatsUrl() })
  t.teardown(async () => { await nc.close() })
  const unserved: unknown = await chatRpc(nc, namespace(createTestNamespace(t))).call('conversations.membershipsOf', { userIds: [randomUUID()] }).catch((err: unknown) => err)
  t.ok(unserved instanceof ChatRpcError && unserved.code === 'unavailable')
  const users = [randomUUID(), randomUUID()]
  const old = writer((method, request: { userId?: string }) => {
    if (method === 'conversations.membershipsOf') throw unserved
    return pageOf(request.userId ?? '')
  })
  t.same(await Promise.all(users.map(async (u) => await new MembershipBatches(old.client).firstPage(u))), users.map(pageOf), 'answered')
  const down = new ChatRpcError('unavailable', 'timeout', 'conversations.membershipsOf')
  const failing = writer(() => { throw down })
  const batches = new MembershipBatches(failing.client)
  const results = await Promise.allSettled(users.map(async (u) => await batches.firstPage(u)))
  t.same(results.map((r) => r.status), ['rejected', 'rejected'])
  t.equal(failing.calls.length, 1, 'not asked again user by user: the caller falls back (the stream) once, not after two timeouts')
})

t.test('spaced: users asked for within spacingMs of the last request share the next one', async (t) => {
  const { client, calls } = writer((method, request: { userIds?: string[], userId?: string }) => method === 'conversations.membershipsOf'
    ? { users: (request.userIds ?? []).map((userId) => ({ userId, ...pageOf(userId) })) }
    : pageOf(request.userId ?? ''))
  const batches = new MembershipBatches(client, { spacingMs: 500 })
  const first = randomUUID()
  await batches.firstPage(first)
  const later = Array.from({ length: 3 }, () => randomUUID())
  const asked: Array<Promise<unknown>> = []
  for (const u of later) {
    asked.push(batches.firstPage(u))
    await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(asked)
  t.same(calls.map((c) => c.request), [{ userId: first }, { userIds: later }], 'one request for the three asked in turns of their own')
})

t.test('a reply that breaks the contract settles everyone: its bad entries are asked for one by one', async (t) => {
  const users = [randomUUID(), randomUUID(), randomUUID()]
  for (const reply of [{}, { users: 'no' }, { users: [null, { userId: users[0] }, { userId: users[1], items: 'x' }] }]) {
    const { client, calls } = writer((method, request: { userId?: string }) => method === 'conversations.membershipsOf' ? reply : pageOf(request.userId ?? ''))
    const batches = new MembershipBatches(client)
    t.same(await Promise.all(users.map(async (u) => await batches.firstPage(u))), users.map(pageOf), `answered after ${JSON.stringify(reply)}`)
    t.equal(calls[0]?.method, 'conversations.membershipsOf')
    t.equal(calls.filter((c) => c.method === 'conversations.memberships').length, users.length)
  }
})

t.test('no maxUsers or concurrency below one: it still asks', async (t) => {
  const { client } = writer((_method, request: { userId?: string }) => pageOf(request.userId ?? ''))
  const batches = new MembershipBatches(client, { maxUsers: 0, concurrency: 0 })
  const users = [randomUUID(), randomUUID()]
  t.same(await Promise.all(users.map(async (u) => await batches.firstPage(u))), users.map(pageOf))
})
