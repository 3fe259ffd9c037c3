import type { FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { bearerSecurity, RateLimited } from '@metadome/service'
import { conversationRoutes } from './conversations.js'
import { blockRoutes } from './blocks.js'

/**
 * The gateway's REST side: every route signed in, and all of them counted
 * against one limit per user (REST_RATE_LIMIT_PER_MINUTE), so no route is
 * left for one user to take the gateway's REST side, the writer behind it or
 * the other gateways (a block change reaches each) for everyone.
 */
export async function restRoutes (app: FastifyInstance, opts: { rateLimitPerMinute: number }): Promise<void> {
  app.addHook('onRequest', app.authenticate)
  // Per signed-in user (the authenticate hook above has run). Counted per replica.
  await app.register(rateLimit, {
    max: opts.rateLimitPerMinute,
    timeWindow: '1 minute',
    hook: 'preHandler',
    keyGenerator: (request) => request.userId === '' ? `ip:${request.ip}` : `user:${request.userId}`,
    // Thrown, so it reaches the one error handler and has the contract's shape.
    errorResponseBuilder: (_request, context) => new RateLimited(`too many requests: retry in ${context.after}`)
  })
  // Every route here is signed in, and the OpenAPI document says so.
  app.addHook('onRoute', (route) => { route.schema = { ...route.schema, security: bearerSecurity } })
  await app.register(conversationRoutes)
  await app.register(blockRoutes)
}
