import { randomBytes } from 'node:crypto'
import { ChatClient, MemoryKeyStore, type ConnectOptions, type KeyStore, type RejectedEvent, type TextEvent } from '../../src/index.js'
import type { Teardown } from '@metadome/testing'
import type { Stack } from '@metadome/e2e'

export const PASSWORD = 'correct horse battery staple'

export function username (prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`
}

/** Everything a client handed to its user, in order. */
export interface Inbox {
  texts: TextEvent[]
  rejected: RejectedEvent[]
  /** Resolves once `n` texts arrived. */
  waitFor: (n: number) => Promise<TextEvent[]>
  waitForRejected: (n: number) => Promise<RejectedEvent[]>
}

export function inboxOf (client: ChatClient): Inbox {
  const texts: TextEvent[] = []
  const rejected: RejectedEvent[] = []
  const waiters: Array<() => void> = []
  const wake = (): void => { for (const w of waiters.splice(0)) w() }
  client.on('text', (e) => { texts.push(e); wake() })
  client.on('rejected', (e) => { rejected.push(e); wake() })
  const wait = async <T>(list: T[], n: number): Promise<T[]> => {
    while (list.length < n) await new Promise<void>((resolve) => { waiters.push(resolve) })
    return list.slice(0, n)
  }
  return { texts, rejected, waitFor: async (n) => await wait(texts, n), waitForRejected: async (n) => await wait(rejected, n) }
}

export interface TestUser {
  client: ChatClient
  inbox: Inbox
  store: KeyStore
  username: string
  id: string
}

/** Registers a user, waits until message-writer knows them, and signs them in. */
export async function signUp (t: Teardown, stack: Stack, prefix: string, options: Partial<ConnectOptions> = {}): Promise<TestUser> {
  const name = username(prefix)
  const user = await ChatClient.register({ authUrl: stack.authUrl, username: name, password: PASSWORD })
  await stack.known(user.id)
  const store = options.keyStore ?? new MemoryKeyStore()
  const client = await ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: name, password: PASSWORD, ...options, keyStore: store })
  t.teardown(async () => { await client.close() })
  return { client, inbox: inboxOf(client), store, username: name, id: user.id }
}
