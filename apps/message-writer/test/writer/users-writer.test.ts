import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { Msg } from '@nats-io/transport-node'
import { DeadLetterHeaders, userEventSubject } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { applyUserChanges } from '../../src/db/user.repository.js'
import { build, directMessage } from '../helper.js'

const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'

t.test('USERS events keep the users projection', async (t) => {
  const { ctx } = await build(t)
  const user = async (id: string) => (await ctx.rpc.call('users.get', { userId: id })).user

  await ctx.userEvent('registered', { id: alice, username: 'alice', displayName: 'Alice' })
  await ctx.userEvent('registered', { id: bob, username: 'bob', displayName: 'Bob' })
  t.same(await until(async () => await user(alice) ?? undefined, 10_000, 'alice registered'), { id: alice, username: 'alice', displayName: 'Alice' })

  await ctx.userEvent('updated', { id: alice, username: 'alice2', displayName: 'Alice Liddell' })
  t.same(await until(async () => { const u = await user(alice); return u?.username === 'alice2' && u }, 10_000, 'alice updated'),
    { id: alice, username: 'alice2', displayName: 'Alice Liddell' })

  await ctx.userEvent('sessions_revoked', { id: bob, username: 'bob', displayName: 'Bob' })

  // Bob's messages stay when Bob goes.
  const m = directMessage(bob, alice)
  await ctx.send(m)
  await until(async () => (await ctx.messages()).length === 1, 10_000, 'bob\'s message')
  await ctx.userEvent('deleted', { id: bob, username: 'bob', displayName: 'Bob' })
  await until(async () => await user(bob) === null, 10_000, 'bob deleted')
  t.same((await ctx.messages()).map((r) => r.id), [m.id], 'the deleted user\'s message is kept')
  const { rows } = await ctx.sql.query('select username, display_name, deleted_at is not null as deleted from chat.users where id = $1', [bob])
  t.same(rows, [{ username: null, display_name: null, deleted: true }], 'a tombstone without the names')
  const { conversation } = await ctx.rpc.call('conversations.get', { conversationId: m.conversationId, userId: alice })
  t.equal(conversation.lastSeq, 1, 'a conversation with messages outlives its user')
})

t.test('events applied out of order converge on the newest (several replicas)', async (t) => {
  const { app } = await build(t)
  const db = app.chatDb
  const at = new Date()
  const get = async () => await db.selectFrom('users').select(['username', 'version', 'deleted_at']).where('id', '=', alice).executeTakeFirst()

  await applyUserChanges(db, [{ id: alice, version: 3, occurredAt: at, profile: { username: 'v3', displayName: 'V3' } }])
  await applyUserChanges(db, [{ id: alice, version: 2, occurredAt: at, profile: { username: 'v2', displayName: 'V2' } }])
  t.match(await get(), { username: 'v3', version: 3 }, 'an older update does not win')

  await applyUserChanges(db, [{ id: alice, version: 5, occurredAt: at, profile: null }])
  await applyUserChanges(db, [{ id: alice, version: 4, occurredAt: at, profile: { username: 'v4', displayName: 'V4' } }])
  t.match(await get(), { username: null, version: 5, deleted_at: Date }, 'a late update does not bring a deleted user back')

  await applyUserChanges(db, [
    { id: bob, version: 9, occurredAt: at, profile: { username: 'b9', displayName: 'B9' } },
    { id: bob, version: 8, occurredAt: at, profile: null }
  ])
  t.match(await db.selectFrom('users').select(['username', 'version']).where('id', '=', bob).executeTakeFirst(), { username: 'b9', version: 9 }, 'within one batch too')
})

t.test('a USERS event that cannot be applied is dead-lettered with its reason', async (t) => {
  const { ctx } = await build(t)
  const dead: Msg[] = []
  const sub = ctx.nc.subscribe(ctx.ns.subject('deadletter', 'users'), { callback: (_err, msg) => { dead.push(msg) } })
  t.teardown(() => { sub.unsubscribe() })
  await ctx.nc.flush()

  await ctx.js.publish(userEventSubject(ctx.ns, 'registered'), 'nope', { msgID: randomUUID() })
  await ctx.js.publish(userEventSubject(ctx.ns, 'registered'), JSON.stringify({ id: randomUUID(), type: 'registered', user: { id: alice } }), { msgID: randomUUID() })
  await ctx.js.publish(userEventSubject(ctx.ns, 'updated'), JSON.stringify({ id: randomUUID(), type: 'registered', occurredAt: new Date().toISOString(), user: { id: alice, username: 'a', displayName: 'A' } }), { msgID: randomUUID() })
  await ctx.userEvent('registered', { id: bob, username: 'bob', displayName: 'Bob' })

  await until(() => dead.length === 3 && true, 10_000, 'three dead letters')
  t.same(dead.map((m) => m.headers?.get(DeadLetterHeaders.streamSeq)), ['1', '2', '3'])
  t.match(dead[0]?.headers?.get(DeadLetterHeaders.reason), /JSON/)
  t.match(dead[1]?.headers?.get(DeadLetterHeaders.reason), /not a UserEvent/)
  t.match(dead[2]?.headers?.get(DeadLetterHeaders.reason), /published on/)
  await until(async () => (await ctx.rpc.call('users.get', { userId: bob })).user !== null, 10_000, 'the valid event after them applied')
  t.equal((await ctx.rpc.call('users.get', { userId: alice })).user, null)
})
