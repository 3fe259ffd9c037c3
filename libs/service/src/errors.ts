import createError from '@fastify/error'

// The stable error codes of DESIGN.md. Tests assert on the code, never on the
// wording; apps add their own specific codes the same way.
export const BadRequest = createError('bad_request', '%s', 400)
export const Unauthorized = createError('unauthorized', '%s', 401)
export const Forbidden = createError('forbidden', '%s', 403)
export const NotFound = createError('not_found', '%s', 404)
export const Conflict = createError('conflict', '%s', 409)
export const TooLarge = createError('too_large', '%s', 413)
export const RateLimited = createError('rate_limited', '%s', 429)
export const Unavailable = createError('unavailable', '%s', 503)
