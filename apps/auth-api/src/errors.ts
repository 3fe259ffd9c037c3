import { defineError } from '@metadome/service'

// auth-api's own stable error codes (tests assert on these, never on wording).
// The generic ones (bad_request, unauthorized, forbidden, not_found, …) come
// from @metadome/service.
export const UsernameTaken = defineError('username_taken', 'that username is taken', 409)
export const EmailTaken = defineError('email_taken', 'that email address is already in use', 409)
export const WeakPassword = defineError('weak_password', '%s', 400)
export const PasswordTooLong = defineError('password_too_long', 'the password is longer than 72 bytes of UTF-8, which bcrypt would silently cut: choose a shorter one', 400)
export const InvalidCredentials = defineError('invalid_credentials', 'invalid username or password', 401)
const TooManyAttemptsError = defineError('too_many_attempts', 'too many wrong passwords for this account from here: retry later', 429)
/** A password check refused unchecked (db/login-attempt.repository.ts); plugins/app/retry-after.ts sends the wait as Retry-After. */
export class TooManyAttempts extends TooManyAttemptsError {
  constructor (readonly retryAfterSeconds: number) {
    super()
  }
}
export const CurrentPasswordRequired = defineError('current_password_required', '%s', 400)
export const WrongCurrentPassword = defineError('wrong_current_password', 'currentPassword is not this account\'s password', 403)
export const InvalidRefreshToken = defineError('invalid_refresh_token', 'the refresh token is unknown, expired or revoked', 401)
export const RefreshTokenReused = defineError('refresh_token_reused', 'this refresh token was already used: the session is revoked', 401)
export const InvalidSignature = defineError('invalid_signature', '%s', 400)
export const VersionConflict = defineError('version_conflict', '%s', 409)
export const AccountDisabled = defineError('account_disabled', 'this account is disabled: ask an administrator', 403)
export const InvalidAccountToken = defineError('invalid_token', 'the link is invalid, expired, replaced by a newer one or already used', 400)
export const NoEmail = defineError('no_email', 'this account has no email address: add one first', 400)
const MfaRequiredError = defineError('mfa_required', 'this account asks for a second factor: send {mfaToken, code}', 401)
/** The password was right and the account has TOTP on: the answer carries the token of the second step. */
export class MfaRequired extends MfaRequiredError {
  constructor (readonly mfaToken: string) {
    super()
  }
}
export const InvalidMfaCode = defineError('invalid_mfa_code', 'the code is wrong, expired or already used', 401)
export const InvalidMfaToken = defineError('invalid_mfa_token', 'the mfaToken is unknown, expired or already used: sign in again', 401)
export const MfaAlreadyEnabled = defineError('mfa_already_enabled', 'TOTP is already on for this account: disable it first', 409)
export const MfaNotEnabled = defineError('mfa_not_enabled', '%s', 409)
export const WrongMfaCode = defineError('wrong_mfa_code', 'the code is wrong, expired or already used', 403)
export const PasskeyRefused = defineError('passkey_refused', '%s', 400)
export const PasskeySignInRefused = defineError('passkey_refused', 'the passkey could not be verified: ask for new options and try again', 401)
export const PasskeyExists = defineError('passkey_exists', 'this passkey is already registered', 409)
