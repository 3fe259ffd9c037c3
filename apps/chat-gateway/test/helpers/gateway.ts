import type { FastifyInstance } from 'fastify'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { createTestNamespace, captureLogs, testNatsUrl, type CapturedLogs, type Teardown } from '@metadome/testing'
import { GatewayConfig } from '../../src/config.js'
import { buildApp } from '../../src/app.js'
import type { Chat } from '../../src/plugins/app/chat.js'

export interface TestGateway {
  app: FastifyInstance
  config: GatewayConfig
  logs: CapturedLogs
  /** The gateway's sockets, hub and chat operations, to observe from tests. */
  chat: Chat
  /** http://127.0.0.1:<port> */
  url: string
  /** ws://127.0.0.1:<port>/v1/ws */
  wsUrl: string
}

/**
 * A chat-gateway listening on a free port, with a NATS namespace of its own
 * unless `env.NATS_NAMESPACE` names a shared one (two gateways in one test),
 * closed at teardown. `env` overrides variables, as strings.
 */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<TestGateway> {
  const config = loadConfig(GatewayConfig, {
    NATS_URL: testNatsUrl(),
    NATS_NAMESPACE: env.NATS_NAMESPACE ?? createTestNamespace(t, env.NATS_URL),
    LOG_LEVEL: 'debug',
    ...env
  })
  const logs = captureLogs()
  const app = await buildApp(config, { logger: createLogger({ name: 'chat-gateway', level: config.LOG_LEVEL, destination: logs.stream }) })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, config, logs, chat: app.chat, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/ws` }
}
