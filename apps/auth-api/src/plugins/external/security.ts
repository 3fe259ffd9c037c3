import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import { RateLimited } from '@metadome/service'

export interface SecurityOptions {
  /** false: no cross-origin access; true: any origin; or the allowed origins. */
  corsOrigins: boolean | string[]
}

/**
 * Helmet's headers, CORS for the origins operators list, and the per-IP rate
 * limiter, which is off by default: the routes that need it (login,
 * register, refresh) set `config.rateLimit`. The limiter's counts are per
 * replica, so the effective limit grows with the replica count.
 */
export const securityPlugin = fp(async function securityPlugin (app: FastifyInstance, opts: SecurityOptions) {
  await app.register(helmet, {
    // The API answers JSON; the CSP matters only for /docs, whose UI loads
    // its own scripts and styles from this origin.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        // Operators often run it on plain http behind a TLS proxy or on
        // localhost; upgrading /docs' own requests to https would break it.
        upgradeInsecureRequests: null
      }
    }
  })
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
