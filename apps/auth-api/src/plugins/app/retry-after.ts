import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * A refusal that knows when to come back says so: an error with a
 * `retryAfterSeconds` (TooManyAttempts, from login and from every route that
 * checks currentPassword) answers with Retry-After, whichever route threw it.
 */
export const retryAfterPlugin = fp(async function retryAfterPlugin (app: FastifyInstance) {
  app.addHook('onError', async (_request, reply, err) => {
    const wait = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds
    if (typeof wait === 'number') void reply.header('retry-after', String(wait))
  })
}, { name: 'auth-retry-after' })
