import type { FastifyInstance } from 'fastify'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, type CapturedLogs, type Teardown, tempDir as temporaryFolder } from '@metadome/testing'
import { AuthConfig } from '@metadome/auth-api/config'
import { buildApp as buildAuth } from '@metadome/auth-api/app'
import { GatewayConfig } from '@metadome/chat-gateway/config'
import { buildApp as buildGatewayApp } from '@metadome/chat-gateway/app'
import { WriterConfig } from '@metadome/message-writer/config'
import { buildApp as buildWriterApp } from '@metadome/message-writer/app'

/** Environment variables, as strings, the way operators set them. */
export type Env = Record<string, string>

export interface BuiltApp<Config> {
  app: FastifyInstance
  config: Config
  logs: CapturedLogs
}

export interface BuildOptions {
  /** Where the app's log lines go; a fresh capture by default (a restarted app can keep one). */
  logs?: CapturedLogs
}

// Each app is built with its own buildApp, as server.ts builds it, on a
// fresh database and NATS namespace unless `env` names shared ones (which is
// how startStack puts them together), with its log lines captured at debug
// unless LOG_LEVEL says otherwise, and closed at teardown. None listens:
// `listen` does that for the tests that need a real port.

/** auth-api, with bcrypt at cost 4, a rate limit tests do not hit and an outbox relay that polls every 100 ms. */
export async function buildAuthApi (t: Teardown, env: Env = {}, options: BuildOptions = {}): Promise<BuiltApp<AuthConfig>> {
  const natsUrl = env.NATS_URL ?? testNatsUrl()
  const config = loadConfig(AuthConfig, {
    DATABASE_URL: env.DATABASE_URL ?? await createTestDatabase(t),
    NATS_URL: natsUrl,
    NATS_NAMESPACE: env.NATS_NAMESPACE ?? createTestNamespace(t, natsUrl),
    DATA_DIR: env.DATA_DIR ?? await tempDir(t),
    LOG_LEVEL: 'debug',
    BCRYPT_COST: '4',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    ...env
  })
  const logs = options.logs ?? captureLogs()
  const app = await buildAuth(config, {
    logger: createLogger({ name: 'auth-api', level: config.LOG_LEVEL, destination: logs.stream }),
    relay: { pollMs: 100, minBackoffMs: 50, maxBackoffMs: 500, publishTimeoutMs: 1_000 }
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, config, logs }
}

/** message-writer, consuming and answering requests once this resolves. */
export async function buildWriter (t: Teardown, env: Env = {}, options: BuildOptions = {}): Promise<BuiltApp<WriterConfig>> {
  const natsUrl = env.NATS_URL ?? testNatsUrl()
  const config = loadConfig(WriterConfig, {
    DATABASE_URL: env.DATABASE_URL ?? await createTestDatabase(t),
    NATS_URL: natsUrl,
    NATS_NAMESPACE: env.NATS_NAMESPACE ?? createTestNamespace(t, natsUrl),
    LOG_LEVEL: 'debug',
    ...env
  })
  const logs = options.logs ?? captureLogs()
  const app = await buildWriterApp(config, { logger: createLogger({ name: 'message-writer', level: config.LOG_LEVEL, destination: logs.stream }) })
  t.teardown(async () => { await app.close() })
  return { app, config, logs }
}

/** A chat-gateway; AUTH_URL is where it fetches the JWKS (auth-api, or startJwksServer's stand-in). */
export async function buildGateway (t: Teardown, env: Env = {}, options: BuildOptions = {}): Promise<BuiltApp<GatewayConfig>> {
  const natsUrl = env.NATS_URL ?? testNatsUrl()
  const config = loadConfig(GatewayConfig, {
    NATS_URL: natsUrl,
    NATS_NAMESPACE: env.NATS_NAMESPACE ?? createTestNamespace(t, natsUrl),
    LOG_LEVEL: 'debug',
    ...env
  })
  const logs = options.logs ?? captureLogs()
  const app = await buildGatewayApp(config, { logger: createLogger({ name: 'chat-gateway', level: config.LOG_LEVEL, destination: logs.stream }) })
  t.teardown(async () => { await app.close() })
  return { app, config, logs }
}

/** Listens on a free port of 127.0.0.1 and resolves with http://127.0.0.1:<port>. */
export async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (typeof address !== 'object' || address === null) throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}

/** A folder of its own (auth-api's DATA_DIR, for its generated signing key), removed at teardown. */
export async function tempDir (t: Teardown): Promise<string> {
  return await temporaryFolder(t, 'metadome-e2e-')
}
