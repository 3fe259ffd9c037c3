import { isChatClientError } from '@metadome/client'

// What a failure means to the person in front of the page, one sentence,
// chosen by the SDK's stable error codes (never by the wording).

/** One sentence for a failed action, from the SDK's stable error codes. */
export function describe (err: unknown): string {
  if (!isChatClientError(err)) return err instanceof Error ? err.message : 'Something went wrong.'
  switch (err.code) {
    case 'unreachable': return 'The server cannot be reached. Check your connection and try again.'
    case 'invalid_credentials': return 'Wrong username or password.'
    case 'conflict': return 'That username is taken.'
    case 'session_ended': return 'You were signed out. Sign in again.'
    case 'not_found': return err.message.startsWith('no user named') ? `${err.message.replace('no user named', 'Nobody is called')}.` : 'Not found.'
    case 'forbidden': return 'You are not allowed to do that here.'
    case 'rate_limited': return 'Too many attempts. Wait a moment and try again.'
    case 'account_key_changed': return 'This contact\'s security key changed. Compare safety numbers, then trust the new key to send.'
    case 'no_keys': return 'This person has not signed in on any device yet, so nothing can be encrypted for them.'
    case 'no_account_key': return 'This account\'s keys are on another device. Sign in there, or start over with new keys on this one.'
    case 'timeout': return 'No answer in time. Try again.'
    case 'bad_request': return err.message
    default: return err.message
  }
}

/** A server's message ("the link is invalid, …") as a sentence of its own. */
export function sentence (message: string): string {
  const s = message.trim()
  if (s === '') return 'Something went wrong.'
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`
}
