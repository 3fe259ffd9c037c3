import createError from '@fastify/error'

/**
 * createError, keeping the code as written: @fastify/error upper-cases codes,
 * and the contract's codes are lower_snake_case (the shared error handler
 * passes lower-case codes through and maps any other by status).
 */
function codedError (code: string, message: string, statusCode: number) {
  const Base = createError(code, message, statusCode)
  return class extends Base {
    constructor (...args: unknown[]) {
      super(...args)
      this.code = code
    }
  }
}

// auth-api's own stable error codes (tests assert on these, never on wording).
// The generic ones (bad_request, unauthorized, forbidden, not_found, …) come
// from @metadome/service.
export const UsernameTaken = codedError('username_taken', 'that username is taken', 409)
export const EmailTaken = codedError('email_taken', 'that email address is already in use', 409)
export const WeakPassword = codedError('weak_password', '%s', 400)
export const PasswordTooLong = codedError('password_too_long', 'the password is longer than 72 bytes of UTF-8, which bcrypt would silently cut: choose a shorter one', 400)
export const InvalidCredentials = codedError('invalid_credentials', 'invalid username or password', 401)
export const TooManyAttempts = codedError('too_many_attempts', 'too many failed sign-ins for this account: retry later', 429)
export const CurrentPasswordRequired = codedError('current_password_required', '%s', 400)
export const WrongCurrentPassword = codedError('wrong_current_password', 'currentPassword is not this account\'s password', 403)
export const InvalidRefreshToken = codedError('invalid_refresh_token', 'the refresh token is unknown, expired or revoked', 401)
export const RefreshTokenReused = codedError('refresh_token_reused', 'this refresh token was already used: the session is revoked', 401)
export const InvalidSignature = codedError('invalid_signature', '%s', 400)
export const VersionConflict = codedError('version_conflict', '%s', 409)
