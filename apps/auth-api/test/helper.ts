import type { FastifyInstance } from 'fastify'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, type CapturedLogs, type Teardown } from '@metadome/testing'
import { AuthConfig } from '../src/config.js'
import { buildApp } from '../src/app.js'

export interface TestApp {
  app: FastifyInstance
  config: AuthConfig
  logs: CapturedLogs
}

/**
 * auth-api against a fresh database and NATS namespace of its own, closed at
 * teardown. `env` overrides variables (as strings, the way operators set them).
 */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(AuthConfig, {
    DATABASE_URL: await createTestDatabase(t),
    NATS_URL: testNatsUrl(),
    NATS_NAMESPACE: createTestNamespace(t, env.NATS_URL),
    LOG_LEVEL: 'debug',
    ...env
  })
  const logs = captureLogs()
  const app = await buildApp(config, { logger: createLogger({ name: 'auth-api', level: config.LOG_LEVEL, destination: logs.stream }) })
  t.teardown(async () => { await app.close() })
  return { app, config, logs }
}
