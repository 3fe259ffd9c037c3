import type { Session, SessionList } from '@metadome/contracts'
import { httpJson, join } from './http.js'
import type { AuthedCalls } from './token-keeper.js'

// The user's sessions on auth-api (DESIGN.md "Accounts": GET and DELETE
// /v1/auth/sessions): one per signed-in device, so a user can see where they
// are signed in and end one they do not recognise. Ending this device's own
// session is logout(), which also forgets its tokens here.

export class Sessions {
  readonly #authUrl: string
  readonly #tokens: AuthedCalls

  constructor (authUrl: string, tokens: AuthedCalls) {
    this.#authUrl = authUrl
    this.#tokens = tokens
  }

  /** The active sessions, newest first; `current` marks this device's. */
  async list (): Promise<Session[]> {
    const url = join(this.#authUrl, '/v1/auth/sessions')
    const reply = await this.#tokens.authed(async (token) => await httpJson<SessionList>({ method: 'GET', url, token }))
    return reply.items
  }

  /** Ends another session: its tokens stop working and its sockets close (4403). */
  async end (sessionId: string): Promise<void> {
    const url = join(this.#authUrl, `/v1/auth/sessions/${encodeURIComponent(sessionId)}`)
    await this.#tokens.authed(async (token) => await httpJson<undefined>({ method: 'DELETE', url, token }))
  }
}
