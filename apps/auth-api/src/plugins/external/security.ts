import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import { RateLimited } from '@metadome/service'

export interface SecurityOptions {
  /** false: no cross-origin access; true: any origin; or the allowed origins. */
  corsOrigins: boolean | string[]
}

/**
 * CORS for the origins operators list (the security headers come from
 * createService, as for every app), and the per-IP rate
 * limiter, which is off by default: the routes that need it (login,
 * register, refresh) set `config.rateLimit`. The limiter's counts are per
 * replica, so the effective limit grows with the replica count.
 */
export const securityPlugin = fp(async function securityPlugin (app: FastifyInstance, opts: SecurityOptions) {
  await app.register(cors, {
    origin: opts.corsOrigins,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    exposedHeaders: ['retry-after'],
    maxAge: 600
  })
  await app.register(rateLimit, {
    global: false,
    // Thrown, so it reaches the one error handler and has the contract's shape.
    errorResponseBuilder: (_request, context) => new RateLimited(`too many requests from this address: retry in ${context.after}`)
  })
}, { name: 'auth-security', dependencies: ['metadome-error-handler'] })
