import { Accounts, ChatClient, isChatClientError, type ConnectOptions } from '@metadome/client'
import type { TokenResponse } from '@metadome/contracts'
import { IndexedDbKeyStore } from './idb-key-store.js'
import { passkeyAssertion } from './passkey.js'

// Signing in, out and back in after a reload. The page talks to auth-api and
// the gateways through the server that served it (/api/auth, /api/gateway:
// one origin, see the server's proxy.ts). Which account this browser is
// signed in to is one record in the key store, beside that account's keys
// and tokens; everything else about the session is the SDK's.

const CURRENT = 'web/current'

export interface Services {
  store: IndexedDbKeyStore
  options: Omit<ConnectOptions, 'keyStore'> & { keyStore: IndexedDbKeyStore }
}

/** auth-api, as this page reaches it; the mailed links' pages need nothing more. */
export function authUrl (): string {
  return new URL('/api/auth', location.origin).toString()
}

export async function services (): Promise<Services> {
  const store = await IndexedDbKeyStore.open()
  return {
    store,
    options: {
      authUrl: authUrl(),
      // An http(s) address: the SDK derives ws(s)://<origin>/api/gateway/v1/ws and the REST routes beside it.
      gatewayUrl: new URL('/api/gateway', location.origin).toString(),
      keyStore: store,
      // A person watching the banner should not wait long for the way back.
      reconnect: { minDelayMs: 250, maxDelayMs: 4_000 }
    }
  }
}

/** The client of the account this browser was signed in to, or undefined. */
export async function resume (s: Services): Promise<ChatClient | undefined> {
  const current = await s.store.get(CURRENT)
  if (typeof current !== 'object' || current === null || !('userId' in current) || typeof current.userId !== 'string') return undefined
  return await ChatClient.resume({ ...s.options, userId: current.userId })
}

/**
 * Signed in; or a second factor is needed (completeMfa with its mfaToken);
 * or signed in on an account whose keys are on another device, which this
 * browser can only join by starting over with new keys (startOver).
 */
export type SignInResult =
  | { kind: 'signed_in', client: ChatClient }
  | { kind: 'mfa_required', mfaToken: string }
  | KeysElsewhere
export interface KeysElsewhere { kind: 'keys_elsewhere', userId: string, username: string }

/**
 * Signs in with a password through the account API, which says when the
 * account asks for a second factor (ChatClient.login takes that for a wrong
 * password); the tokens are kept in the store and the client resumes them.
 */
export async function signIn (s: Services, username: string, password: string): Promise<SignInResult> {
  const step = await new Accounts(s.options.authUrl).login(username, password)
  if (step.kind === 'mfa_required') return step
  return await enter(s, step.tokens)
}

/** The second step: a code from the authenticator app, or a recovery code. */
export async function completeMfa (s: Services, mfaToken: string, code: string): Promise<Exclude<SignInResult, { kind: 'mfa_required' }>> {
  return await enter(s, await new Accounts(s.options.authUrl).completeMfa(mfaToken, code))
}

/** Signs in with a passkey (the browser asks which one), instead of a password and second factor. */
export async function signInWithPasskey (s: Services): Promise<Exclude<SignInResult, { kind: 'mfa_required' }>> {
  const accounts = new Accounts(s.options.authUrl)
  const credential = await passkeyAssertion(await accounts.passkeyLoginOptions())
  return await enter(s, await accounts.passkeyLogin(credential))
}

/**
 * Replaces the account key and this device's keys, on the session a sign-in
 * kept (keys_elsewhere). Whatever signed in (password, second factor or
 * passkey), publishing another account key needs the password: auth-api
 * checks it, so that a stolen session alone cannot take over the keys.
 */
export async function startOver (s: Services, userId: string, password: string): Promise<ChatClient> {
  const client = await ChatClient.resume({ ...s.options, userId, newKeys: true, password })
  await s.store.set(CURRENT, { userId: client.userId })
  return client
}

async function enter (s: Services, tokens: TokenResponse): Promise<Exclude<SignInResult, { kind: 'mfa_required' }>> {
  await Accounts.keep(s.store, tokens)
  let client: ChatClient
  try {
    client = await ChatClient.resume({ ...s.options, userId: tokens.user.id })
  } catch (err) {
    if (isChatClientError(err, 'no_account_key')) return { kind: 'keys_elsewhere', userId: tokens.user.id, username: tokens.user.username }
    throw err
  }
  await s.store.set(CURRENT, { userId: client.userId })
  return { kind: 'signed_in', client }
}

/** The account API of the signed-in session (the tokens in the store, refreshed as the client's are). */
export async function accountsOf (s: Services, client: ChatClient): Promise<Accounts> {
  return await Accounts.resume({ authUrl: s.options.authUrl, keyStore: s.store, userId: client.userId })
}

export async function createAccount (s: Services, username: string, password: string, displayName: string | undefined): Promise<ChatClient> {
  await ChatClient.register({ authUrl: s.options.authUrl, username, password, ...(displayName !== undefined && { displayName }) })
  const result = await signIn(s, username, password)
  if (result.kind !== 'signed_in') throw new Error('a new account asked for a second factor, or has keys elsewhere')
  return result.client
}

/** Ends the session on the server and here; this device's keys stay for the next sign-in. */
export async function signOut (s: Services, client: ChatClient): Promise<void> {
  try {
    await client.logout()
  } finally {
    await s.store.delete(CURRENT)
  }
}

/** Forgets which account was signed in (its session ended elsewhere). */
export async function forget (s: Services): Promise<void> {
  await s.store.delete(CURRENT)
}
