import t from 'tap'
import { startStack } from '@metadome/e2e'
import { ChatClient, MemoryKeyStore, storeNames, type ChatClientEvents } from '../src/index.js'
import { PASSWORD, signUp } from './helpers/users.js'

// sessions() and endSession(): a user sees each device they are signed in
// on, this one marked `current`, and ends another, whose client then closes
// with session_ended (its socket is closed with 4403 and its refresh refused).

const stack = await startStack(t, { gateways: 1 })

t.test('a user lists their sessions and ends another device\'s', async (t) => {
  const first = await signUp(t, stack, 'sess')
  // A second device of the same user: its store holds the account key, as a copied one would.
  const store = new MemoryKeyStore()
  await store.set(storeNames(first.id).account, await first.store.get(storeNames(first.id).account))
  const second = await ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: first.username, password: PASSWORD, keyStore: store })
  t.teardown(async () => { await second.close() })
  const closed = new Promise<ChatClientEvents['closed']>((resolve) => second.on('closed', resolve))

  const listed = await first.client.sessions()
  t.equal(listed.length, 2, 'one session per signed-in device')
  const mine = listed.filter((s) => s.current)
  t.equal(mine.length, 1, 'exactly one is marked current')
  const other = listed.find((s) => !s.current)
  if (other === undefined) throw new Error('no other session')
  t.same((await second.sessions()).find((s) => s.current)?.id, other.id, 'the other device sees its own as current')

  await first.client.endSession(other.id)
  t.equal((await closed).error?.code, 'session_ended', 'the ended device\'s client closes itself')
  t.same((await first.client.sessions()).map((s) => s.id), mine.map((s) => s.id), 'only this device is left')
  await t.rejects(first.client.endSession(other.id), { code: 'not_found' }, 'an ended session cannot be ended again')
})
