import { env } from '@metadome/config'
import type { FastifyInstance } from 'fastify'
import { createLogger, type Logger } from '@metadome/logger'
import { natsAuth } from '@metadome/nats'
import { createService, openapi } from '@metadome/service'
import { corsOrigins, relyingParty, trustProxy, type AuthConfig } from './config.js'
import { authDatabase } from './plugins/external/db.js'
import { securityPlugin } from './plugins/external/security.js'
import { passwordsPlugin } from './plugins/app/passwords.js'
import { tokensPlugin } from './plugins/app/tokens.js'
import { outboxRelayPlugin, type RelayOptions } from './plugins/app/outbox-relay.js'
import { housekeepingPlugin } from './plugins/app/housekeeping.js'
import { retryAfterPlugin } from './plugins/app/retry-after.js'
import { usersRoutes } from './routes/users.js'
import { authRoutes } from './routes/auth.js'
import { keysRoutes } from './routes/keys.js'
import { wellKnownRoutes } from './routes/well-known.js'
import { adminRoutes } from './routes/admin.js'
import { recoveryRoutes } from './routes/recovery.js'
import { mfaRoutes } from './routes/mfa.js'
import { passkeysRoutes } from './routes/passkeys.js'
import { backgroundPlugin } from './plugins/app/background.js'
import { mailPlugin } from './plugins/app/mail.js'

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
 * Order matters: the service skeleton first (error handler, metrics, the
 * database and NATS, health: see createService), then the security headers,
 * CORS and rate limiter, the OpenAPI generator (it must see every route),
 * the domain's services (passwords, tokens, the outbox relay, whose onClose
 * runs before the database and NATS close), and the routes last.
 */
export async function buildApp (config: AuthConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  return await createService({
    name: 'auth-api',
    http: env.httpTimeouts(config),
    logger: options.logger ?? createLogger({ name: 'auth-api', level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: trustProxy(config.TRUST_PROXY),
    database: authDatabase(config.DATABASE_URL),
    nats: { url: config.NATS_URL, namespace: config.NATS_NAMESPACE, replicas: config.NATS_STREAM_REPLICAS, auth: natsAuth(config) }
  }, async (app) => {
    await app.register(securityPlugin, { corsOrigins: corsOrigins(config.CORS_ORIGINS) })
    await app.register(openapi, {
      title: 'metadome auth-api',
      description: 'Users, sessions and tokens, and the key directory of end-to-end encryption. Errors are `{ "error": { "code", "message" } }`.',
      version: '1'
    })

    await app.register(passwordsPlugin, { cost: config.BCRYPT_COST, threadPoolSize: config.UV_THREADPOOL_SIZE })
    await app.register(tokensPlugin, {
      dataDir: config.DATA_DIR,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      ...(config.JWT_PRIVATE_KEY_FILE !== undefined && { privateKeyFile: config.JWT_PRIVATE_KEY_FILE }),
      ...(config.JWT_NEXT_KEY_FILE !== undefined && { nextKeyFile: config.JWT_NEXT_KEY_FILE })
    })
    await app.register(outboxRelayPlugin, options.relay ?? {})
    await app.register(housekeepingPlugin)
    await app.register(retryAfterPlugin)
    await app.register(backgroundPlugin)
    await app.register(mailPlugin, { from: config.MAIL_FROM, toLog: config.MAIL_TO_LOG === 'true', ...(config.SMTP_URL !== undefined && { smtpUrl: config.SMTP_URL }) })

    const rateLimitPerMinute = config.AUTH_RATE_LIMIT_PER_MINUTE
    await app.register(usersRoutes, { rateLimitPerMinute })
    const sessions = {
      rateLimitPerMinute,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      sessionMaxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
      graceSeconds: config.REFRESH_GRACE_SECONDS
    }
    await app.register(authRoutes, sessions)
    await app.register(keysRoutes)
    await app.register(adminRoutes)
    await app.register(recoveryRoutes, { rateLimitPerMinute, publicUrl: config.PUBLIC_URL })
    await app.register(mfaRoutes, { rateLimitPerMinute })
    await app.register(passkeysRoutes, { ...sessions, rp: relyingParty(config) })
    await app.register(wellKnownRoutes)
  })
}
