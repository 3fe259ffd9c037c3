import { isChatClientError } from '@metadome/client'

/** A mistake in how the command was called: usage is printed, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/**
 * One line a person can act on, for any failure. `who` names the contact
 * the command was about, for the messages that concern them.
 */
export function describe (err: unknown, context: { authUrl?: string, who?: string } = {}): string {
  if (err instanceof UsageError) return err.message
  if (!isChatClientError(err)) return err instanceof Error ? err.message : String(err)
  const who = context.who ?? 'this contact'
  switch (err.code) {
    case 'unreachable':
      return `cannot reach the server: ${err.message.replace(/^cannot reach /, '')} (is it running? set --server / --gateway)`
    case 'invalid_credentials':
      return 'wrong username or password'
    case 'not_signed_in':
    case 'session_ended':
      return 'not signed in: run `metadome login <username>`'
    case 'account_key_changed':
      return `${who}'s account key changed: compare safety numbers with \`metadome verify ${who}\`, then run \`metadome trust ${who}\``
    case 'no_keys':
      return `${who} has not set up encryption yet (they need to log in once)`
    case 'no_account_key':
      return `${err.message.replace(/: start over.*$|: sign in there.*$/, '')}; to start over with new keys on this device, log in with --new-keys (your contacts will be warned)`
    case 'conflict':
      return err.message === '' ? 'already exists' : err.message
    case 'not_found':
      return err.message
    default:
      return err.message
  }
}
