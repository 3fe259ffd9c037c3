import type { TokenResponse } from '@metadome/contracts'
import type { AuthApi } from './auth-api.js'
import { Emitter } from './emitter.js'
import { ChatClientError, isChatClientError } from './errors.js'
import type { KeyStore } from './key-store.js'

// The session's tokens. They live in the KeyStore, so that a later run
// (resume) and another process on the same store (a second terminal) share
// one session. The access token is refreshed before it expires, by a timer
// and on demand, once however many callers ask at the same time.
//
// A refresh token is spent by its use, and auth-api takes a spent one shown
// again for theft and ends the session: so before spending its own, the
// keeper looks in the store for tokens another process rotated already, and
// takes those. After every rotation `rotated` hands the new access token to
// whoever holds a socket (the gateway closes a socket whose token expired);
// a refused refresh ends the session: the stored one is deleted and `ended`
// fires.

export interface StoredSession {
  userId: string
  username: string
  accessToken: string
  refreshToken: string
  /** ms since the epoch. */
  expiresAt: number
  /** ms the access token lives, to decide when to refresh. */
  lifetimeMs: number
}

/** What a piece needs to call a REST route as the signed-in user. */
export interface AuthedCalls {
  /** Calls with a fresh access token, once more after a refresh if the token was refused. */
  authed: <T>(call: (token: string) => Promise<T>) => Promise<T>
}

export interface TokenEvents {
  /** New tokens: the new access token, for the connected socket. */
  rotated: string
  /** The refresh token was refused: the session is over. */
  ended: ChatClientError
  /** A scheduled refresh failed otherwise (auth-api unreachable); it is tried again in 5 s. */
  error: unknown
}

const REFRESH_MARGIN_MS = 60_000
const RETRY_MS = 5_000

export class TokenKeeper extends Emitter<TokenEvents> implements AuthedCalls {
  readonly #api: AuthApi
  readonly #store: KeyStore
  /** The session's name in the store. */
  readonly #name: string
  #session: StoredSession
  #timer: ReturnType<typeof setTimeout> | undefined
  #refreshing: Promise<void> | undefined
  #stopped = false

  constructor (api: AuthApi, store: KeyStore, name: string, session: StoredSession) {
    super()
    this.#api = api
    this.#store = store
    this.#name = name
    this.#session = session
  }

  /** A valid access token, refreshed first when it is due. */
  async accessToken (): Promise<string> {
    if (Date.now() > refreshAt(this.#session)) await this.refresh()
    return this.#session.accessToken
  }

  /** A REST call with a fresh token, retried once after a refresh if the token was refused. */
  async authed<T> (call: (token: string) => Promise<T>): Promise<T> {
    try {
      return await call(await this.accessToken())
    } catch (err) {
      if (!isChatClientError(err, 'unauthorized')) throw err
      await this.refresh()
      return await call(this.#session.accessToken)
    }
  }

  /** The access token was refused (a socket closed with 4401 or 4403): the next accessToken() refreshes. */
  expire (): void {
    this.#session = { ...this.#session, expiresAt: 0 }
  }

  /** Rotates the tokens once, however many callers ask at the same time. */
  async refresh (): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const stored = await this.#store.get(this.#name)
        if (isStoredSession(stored) && stored.refreshToken !== this.#session.refreshToken && stored.expiresAt > this.#session.expiresAt &&
          Date.now() < refreshAt(stored)) {
          // Another process on the same store rotated them already: ours is spent.
          this.#rotated(stored)
          return
        }
        const session = sessionOf(await this.#api.refresh(this.#session.refreshToken))
        this.#session = session
        await this.#store.set(this.#name, session)
        this.#rotated(session)
      } catch (err) {
        if (isChatClientError(err, 'unauthorized')) {
          const ended = new ChatClientError('session_ended', 'the session ended: log in again', { cause: err })
          await this.#store.delete(this.#name)
          this.stop()
          this.emit('ended', ended)
          throw ended
        }
        throw err
      } finally {
        this.#refreshing = undefined
      }
    })()
    await this.#refreshing
  }

  /** Refreshes by a timer from now on, before each access token expires. */
  schedule (): void {
    clearTimeout(this.#timer)
    if (this.#stopped) return
    const due = Math.max(0, refreshAt(this.#session) - Date.now())
    this.#timer = setTimeout(() => {
      this.refresh().catch((err: unknown) => {
        if (isChatClientError(err, 'session_ended')) return
        // auth-api unreachable: try again soon; the socket stays up meanwhile.
        this.emit('error', err)
        this.#timer = setTimeout(() => { this.schedule() }, RETRY_MS)
      })
    }, due)
  }

  /** Ends the session on auth-api (the refresh token is spent) and forgets it here, even if auth-api cannot be told. */
  async logout (): Promise<void> {
    try {
      await this.#api.logout(this.#session.refreshToken)
    } finally {
      await this.#store.delete(this.#name)
    }
  }

  /** No more refreshes by the timer. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  #rotated (session: StoredSession): void {
    this.#session = session
    this.schedule()
    this.emit('rotated', session.accessToken)
  }
}

/** Keeps the tokens of a sign-in as the store's session of that user. */
export async function keepSession (store: KeyStore, name: string, tokens: TokenResponse): Promise<StoredSession> {
  const session = sessionOf(tokens)
  await store.set(name, session)
  return session
}

/** The session kept in the store, refreshed first when its access token is due. */
export async function resumeSession (api: AuthApi, store: KeyStore, name: string): Promise<StoredSession> {
  const stored = await store.get(name)
  if (!isStoredSession(stored)) throw new ChatClientError('not_signed_in', 'not signed in: log in first')
  if (Date.now() <= refreshAt(stored)) return stored
  let session: StoredSession
  try {
    session = sessionOf(await api.refresh(stored.refreshToken))
  } catch (err) {
    if (isChatClientError(err, 'unauthorized')) {
      await store.delete(name)
      throw new ChatClientError('session_ended', 'the session ended: log in again', { cause: err })
    }
    throw err
  }
  await store.set(name, session)
  return session
}

function sessionOf (tokens: TokenResponse): StoredSession {
  const lifetimeMs = tokens.expiresIn * 1000
  return {
    userId: tokens.user.id,
    username: tokens.user.username,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + lifetimeMs,
    lifetimeMs
  }
}

/** When to refresh: a minute before expiry, or at 80 % of a short lifetime. */
function refreshAt (session: StoredSession): number {
  return session.expiresAt - Math.min(REFRESH_MARGIN_MS, session.lifetimeMs / 5)
}

function isStoredSession (value: unknown): value is StoredSession {
  return typeof value === 'object' && value !== null &&
    'userId' in value && typeof value.userId === 'string' &&
    'username' in value && typeof value.username === 'string' &&
    'accessToken' in value && typeof value.accessToken === 'string' &&
    'refreshToken' in value && typeof value.refreshToken === 'string' &&
    'expiresAt' in value && typeof value.expiresAt === 'number' &&
    'lifetimeMs' in value && typeof value.lifetimeMs === 'number'
}
