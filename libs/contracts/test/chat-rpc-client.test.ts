import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { Compile } from 'typebox/compile'
import { createTestNamespace, testNatsUrl } from '@metadome/testing'
import { chatRpc, ChatRpcError, ChatRpcMethods, chatRpcMethodNames, chatSubjects, namespace } from '../src/index.js'

const userId = '0b6f3c1e-5d0a-4b8e-9f3a-2c1d4e5f6a7b'

t.test('every method has a strict request schema and an object result schema', async (t) => {
  for (const name of chatRpcMethodNames) {
    t.notOk(Compile(ChatRpcMethods[name].request).Check({ unexpected: true }), `${name}: a request with an unknown property is refused`)
    t.notOk(Compile(ChatRpcMethods[name].result).Check(null), `${name}: a result is an object`)
  }
  const history = Compile(ChatRpcMethods['messages.history'].request)
  t.same(history.Default({ conversationId: 'dm_x', userId }), { conversationId: 'dm_x', userId, limit: 50 })
  t.notOk(history.Check({ conversationId: `dm_${userId}_${userId}`, userId, limit: 101 }))
})

t.test('chatRpc', async (t) => {
  const nc = await connect({ servers: testNatsUrl() })
  t.teardown(async () => { await nc.close() })
  const ns = namespace(createTestNamespace(t))
  const subjects = chatSubjects(ns)
  const rpc = chatRpc(nc, ns)

  nc.subscribe(subjects.rpc('users.get'), {
    queue: 'writer',
    callback: (_err, msg) => {
      const request = msg.json<{ userId: string }>()
      msg.respond(JSON.stringify(request.userId === userId
        ? { ok: true, result: { user: { id: userId, username: 'alice', displayName: 'Alice' } } }
        : { ok: false, error: { code: 'forbidden', message: 'no' } }))
    }
  })
  nc.subscribe(subjects.rpc('writer.position'), { callback: (_err, msg) => { msg.respond('not json') } })
  nc.subscribe(subjects.rpc('conversations.list'), { callback: () => { /* never answers */ } })
  await nc.flush()

  t.test('returns the result of an ok reply', async (t) => {
    t.same(await rpc.call('users.get', { userId }), { user: { id: userId, username: 'alice', displayName: 'Alice' } })
  })

  t.test('throws the code of an error reply', async (t) => {
    await t.rejects(rpc.call('users.get', { userId: userId.replace('0b', '1b') }), { name: 'ChatRpcError', code: 'forbidden', method: 'users.get' })
  })

  t.test('no responders, a timeout and a malformed reply are unavailable', async (t) => {
    await t.rejects(rpc.call('messages.since', { userId, after: 0 }), { code: 'unavailable' })
    await t.rejects(rpc.call('conversations.list', { userId }, { timeoutMs: 50 }), { code: 'unavailable' })
    const err = await rpc.call('writer.position', {}).catch((e: unknown) => e)
    t.ok(err instanceof ChatRpcError)
    t.equal((err as ChatRpcError).code, 'unavailable')
  })
})
