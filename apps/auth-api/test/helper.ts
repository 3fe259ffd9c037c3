import type { FastifyInstance } from 'fastify'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, type CapturedLogs, type Teardown, tempDir as temporaryFolder } from '@metadome/testing'
import { AuthConfig } from '../src/config.js'
import { buildApp, type BuildOptions } from '../src/app.js'
// What the plugins decorate the app with (app.authDb, app.tokens, …), for the
// tests' type check: app.d.ts alone does not carry these declarations.
import type {} from '../src/plugins/external/db.js'
import type {} from '../src/plugins/app/tokens.js'
import type {} from '../src/plugins/app/passwords.js'
import type {} from '../src/plugins/app/outbox-relay.js'
import type {} from '../src/plugins/app/background.js'

export interface TestApp {
  app: FastifyInstance
  config: AuthConfig
  logs: CapturedLogs
}

/** A folder of its own for DATA_DIR (the generated signing key), removed at teardown. */
export async function tempDir (t: Teardown): Promise<string> {
  return await temporaryFolder(t, 'mdauth-')
}

/**
 * auth-api against a fresh database and NATS namespace of its own, closed at
 * teardown. `env` overrides variables (as strings, the way operators set them);
 * bcrypt runs at cost 4 unless a test says otherwise.
 */
export async function build (t: Teardown, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestApp> {
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
  const logs = captureLogs()
  const app = await buildApp(config, {
    logger: createLogger({ name: 'auth-api', level: config.LOG_LEVEL, destination: logs.stream }),
    relay: { pollMs: 100, minBackoffMs: 50, maxBackoffMs: 500, publishTimeoutMs: 1_000 },
    ...options
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, config, logs }
}

export const PASSWORD = 'correct horse battery staple'

export interface Account {
  id: string
  username: string
  password: string
  accessToken: string
  refreshToken: string
  /** Authorization header for inject(). */
  auth: { authorization: string }
}

/** Registers `username` (password PASSWORD unless given) and signs in. */
export async function signUp (app: FastifyInstance, username: string, extra: { password?: string, email?: string, displayName?: string } = {}): Promise<Account> {
  const password = extra.password ?? PASSWORD
  const reg = await app.inject({ method: 'POST', url: '/v1/users', payload: { username, password, ...(extra.email !== undefined && { email: extra.email }), ...(extra.displayName !== undefined && { displayName: extra.displayName }) } })
  if (reg.statusCode !== 201) throw new Error(`register ${username}: ${reg.statusCode} ${reg.body}`)
  return { ...await signIn(app, username, password), id: reg.json<{ user: { id: string } }>().user.id }
}

export async function signIn (app: FastifyInstance, username: string, password = PASSWORD): Promise<Account> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`)
  const body = res.json<{ accessToken: string, refreshToken: string, user: { id: string } }>()
  return { id: body.user.id, username, password, accessToken: body.accessToken, refreshToken: body.refreshToken, auth: { authorization: `Bearer ${body.accessToken}` } }
}

/** Makes an existing user an admin, as the create-admin script does. */
export async function makeAdmin (app: FastifyInstance, id: string): Promise<void> {
  await app.authDb.updateTable('users').set({ role: 'admin' }).where('id', '=', id).execute()
}
