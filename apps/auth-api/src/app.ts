import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify'
import { registerAjvFormats, TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createLogger, type Logger } from '@metadome/logger'
import { errorHandler, metrics, health } from '@metadome/service'
import { natsPlugin, pingNats } from '@metadome/nats'
import { pingDb } from '@metadome/db'
import { corsOrigins, trustProxy, type AuthConfig } from './config.js'
import db from './plugins/external/db.js'
import security from './plugins/external/security.js'
import openapi from './plugins/external/swagger.js'
import passwords from './plugins/app/passwords.js'
import tokens from './plugins/app/tokens.js'
import outboxRelay, { type RelayOptions } from './plugins/app/outbox-relay.js'
import housekeeping from './plugins/app/housekeeping.js'
import usersRoutes from './routes/users.js'
import authRoutes from './routes/auth.js'
import keysRoutes from './routes/keys.js'
import wellKnownRoutes from './routes/well-known.js'

export interface BuildOptions {
  /** Defaults to a logger built from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger
  /** Tuning of the outbox relay (tests shorten its poll and backoff). */
  relay?: RelayOptions
}

export const BODY_LIMIT_BYTES = 16 * 1024

/**
 * auth-api, built but not listening: server.ts listens, tests inject.
 *
 * Order matters: the error handler and metrics first (every later plugin
 * reports through them), then the database and NATS, the security headers,
 * CORS and rate limiter, the OpenAPI generator (it must see every route),
 * the domain's services (passwords, tokens, the outbox relay, whose onClose
 * runs before the database and NATS close), and the routes last.
 */
export async function buildApp (config: AuthConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = options.logger ?? createLogger({ name: 'auth-api', level: config.LOG_LEVEL, format: config.LOG_FORMAT })
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: trustProxy(config.TRUST_PROXY)
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Requests are checked by TypeBox itself, against the very schemas of
  // libs/contracts: unknown fields are refused (Fastify's default Ajv would
  // drop them silently), and bodies are never coerced ("username": 12345 is
  // a 400), while query strings and path parameters are converted from text.
  registerAjvFormats()
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  await app.register(errorHandler)
  await app.register(metrics, { app: 'auth-api' })
  await app.register(db, { url: config.DATABASE_URL })
  await app.register(natsPlugin, { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, name: 'auth-api' })
  await app.register(health, {
    checks: {
      database: async () => { await pingDb(app.authDb) },
      nats: async () => { await pingNats(app.nats.nc) }
    }
  })
  await app.register(security, { corsOrigins: corsOrigins(config.CORS_ORIGINS) })
  await app.register(openapi)

  await app.register(passwords, { cost: config.BCRYPT_COST, threadPoolSize: config.UV_THREADPOOL_SIZE })
  await app.register(tokens, {
    dataDir: config.DATA_DIR,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    ...(config.JWT_PRIVATE_KEY_FILE !== undefined && { privateKeyFile: config.JWT_PRIVATE_KEY_FILE }),
    ...(config.JWT_NEXT_KEY_FILE !== undefined && { nextKeyFile: config.JWT_NEXT_KEY_FILE })
  })
  await app.register(outboxRelay, options.relay ?? {})
  await app.register(housekeeping)

  const rateLimitPerMinute = config.AUTH_RATE_LIMIT_PER_MINUTE
  await app.register(usersRoutes, { rateLimitPerMinute })
  await app.register(authRoutes, {
    rateLimitPerMinute,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    sessionMaxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
    graceSeconds: config.REFRESH_GRACE_SECONDS
  })
  await app.register(keysRoutes)
  await app.register(wellKnownRoutes)
  return app
}
