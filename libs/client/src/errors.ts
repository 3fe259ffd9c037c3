// Every failure the SDK reports is a ChatClientError whose `code` is stable:
// apps (the terminal client, a browser UI) switch on it, never on the wording.
// Crypto refusals keep the E2eeError code of @metadome/e2ee (account_key_changed,
// bad_signature, …) so that one switch covers both.

import type { ContractErrorCode } from '@metadome/contracts'
import type { E2eeErrorCode } from '@metadome/e2ee'

export type ChatClientErrorCode =
  /** No server answered at that address (refused, DNS, TLS, reset). */
  | 'unreachable'
  /** Wrong username or password (auth-api answers the same for both). */
  | 'invalid_credentials'
  /** The session ended: logged out, revoked, the user deleted, or the refresh token was spent. */
  | 'session_ended'
  /** The store has no session to resume. */
  | 'not_signed_in'
  /** This account's device list is signed by an account key this store does not hold. */
  | 'no_account_key'
  /** The user has published no keys yet, so nothing can be encrypted for them. */
  | 'no_keys'
  /** The client was closed. */
  | 'closed'
  /** No answer in time. */
  | 'timeout'
  /** REST and WebSocket error codes of the servers (DESIGN.md, libs/contracts errors.ts). */
  | ContractErrorCode
  /** Anything else a server said, with its status. */
  | 'server_error'
  | E2eeErrorCode

export class ChatClientError extends Error {
  readonly code: ChatClientErrorCode
  /** The HTTP status, for REST failures. */
  readonly status: number | undefined
  constructor (code: ChatClientErrorCode, message: string, options: { status?: number, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ChatClientError'
    this.code = code
    this.status = options.status
  }
}

export function isChatClientError (err: unknown, code?: ChatClientErrorCode): err is ChatClientError {
  return err instanceof ChatClientError && (code === undefined || err.code === code)
}
