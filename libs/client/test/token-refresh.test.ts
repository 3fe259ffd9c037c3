import t from 'tap'
import { ChatClient, MemoryKeyStore, storeNames } from '../src/index.js'
import { startStack } from '@metadome/e2e'
import { signUp } from './helpers/users.js'

// Access tokens live 10 s here (the least auth-api allows), so a session
// outlives several of them within one test; gateways close a socket 1 s
// after its token expired unless the client renewed it in place.

const stack = await startStack(t, { gateways: 2, accessTokenTtlSeconds: 10, gatewayEnv: { WS_TOKEN_GRACE_MS: '1000' } })

/** A store that reports each new session it is given. */
class WatchedStore extends MemoryKeyStore {
  readonly refreshTokens: string[] = []
  #waiters: Array<() => void> = []

  override async set (name: string, value: unknown): Promise<void> {
    await super.set(name, value)
    if (name.endsWith('/session')) {
      this.refreshTokens.push((value as { refreshToken: string }).refreshToken)
      for (const w of this.#waiters.splice(0)) w()
    }
  }

  /** Resolves once `n` different sessions (refresh tokens) were stored. */
  async sessions (n: number): Promise<void> {
    while (new Set(this.refreshTokens).size < n) await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
  }
}

t.test('a session outlives its access tokens: refreshed before expiry, and a reconnect uses a valid one', async (t) => {
  const store = new WatchedStore()
  const alice = await signUp(t, stack, 'alice', { keyStore: store, reconnect: { minDelayMs: 10, maxDelayMs: 50 } })
  const index = stack.gatewayUrls.indexOf(alice.client.gatewayUrl)
  const bob = await signUp(t, stack, 'bob', { gatewayUrl: stack.gatewayUrls[1 - index] as string })
  const closes: number[] = []
  alice.client.on('disconnected', (e) => closes.push(e.code))

  // The login's session, then two refreshes: the first access token has expired by the second.
  await store.sessions(3)
  t.equal(new Set(store.refreshTokens).size, 3, 'each refresh rotated the refresh token')
  const stored = await store.get(storeNames(alice.id).session) as { refreshToken: string }
  t.equal(stored.refreshToken, store.refreshTokens[2], 'the newest session is the one kept')
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  t.same(closes, [], 'the socket was renewed in place past its first token\'s expiry: never closed')

  // Alice's gateway restarts: she reconnects to bob's with the token she holds now.
  const resynced = new Promise<void>((resolve) => alice.client.once('synced', () => resolve()))
  await stack.gateways[index]?.app.close()
  await resynced
  t.equal(alice.client.gatewayUrl, bob.client.gatewayUrl)
  await bob.client.sendText({ to: alice.id }, 'still there?')
  const [got] = await alice.inbox.waitFor(1)
  t.equal(got?.text, 'still there?')
  await alice.client.sendText({ to: bob.id }, 'yes')
  const [back] = await bob.inbox.waitFor(1)
  t.equal(back?.text, 'yes')
  t.notOk(closes.includes(4401), 'no gateway refused a token')
})

t.test('two terminals on one key store keep one session alive past its access tokens', async (t) => {
  const store = new WatchedStore()
  const carol = await signUp(t, stack, 'carol', { keyStore: store })
  const dave = await signUp(t, stack, 'dave')
  const second = await ChatClient.resume({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, userId: carol.id, keyStore: store })
  t.teardown(async () => { await second.close() })
  const ended: unknown[] = []
  carol.client.on('closed', (e) => ended.push(e))
  second.on('closed', (e) => ended.push(e))

  // The login's session and two rotations: the first access token is long expired.
  await store.sessions(3)
  await carol.client.sendText({ to: dave.id }, 'from the first terminal')
  await second.sendText({ to: dave.id }, 'from the second terminal')
  const texts = await dave.inbox.waitFor(2)
  t.same(texts.map((e) => e.text).sort(), ['from the first terminal', 'from the second terminal'])
  t.same(ended, [], 'neither was signed out')
})
