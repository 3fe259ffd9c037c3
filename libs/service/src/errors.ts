import createError from '@fastify/error'

/**
 * createError, keeping the code as the contract spells it: @fastify/error
 * upper-cases codes, and ours are lower_snake_case, on the wire and wherever
 * an app reads `err.code` itself (CLIs, WebSocket error frames, logs).
 */
export function defineError (code: string, message: string, statusCode: number) {
  const Base = createError(code, message, statusCode)
  return class extends Base {
    constructor (...args: unknown[]) {
      super(...args)
      this.code = code
    }
  }
}

// The stable error codes of DESIGN.md. Tests assert on the code, never on the
// wording; apps define their own specific codes the same way.
export const BadRequest = defineError('bad_request', '%s', 400)
export const Unauthorized = defineError('unauthorized', '%s', 401)
export const Forbidden = defineError('forbidden', '%s', 403)
export const NotFound = defineError('not_found', '%s', 404)
export const Conflict = defineError('conflict', '%s', 409)
export const TooLarge = defineError('too_large', '%s', 413)
export const RateLimited = defineError('rate_limited', '%s', 429)
export const Unavailable = defineError('unavailable', '%s', 503)
