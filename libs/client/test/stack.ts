import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { namespace } from '@metadome/nats'
import { chatRpc, type ChatRpcClient } from '@metadome/contracts'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, until, type CapturedLogs, type Teardown } from '@metadome/testing'
import { AuthConfig } from '../../../apps/auth-api/src/config.js'
import { buildApp as buildAuth } from '../../../apps/auth-api/src/app.js'
import { GatewayConfig } from '../../../apps/chat-gateway/src/config.js'
import { buildApp as buildGateway } from '../../../apps/chat-gateway/src/app.js'
import { WriterConfig } from '../../../apps/message-writer/src/config.js'
import { buildApp as buildWriter } from '../../../apps/message-writer/src/app.js'

export interface StackApp {
  name: string
  logs: CapturedLogs
}

export interface Stack {
  /** http://127.0.0.1:<port> of auth-api */
  authUrl: string
  /** ws://127.0.0.1:<port>/v1/ws of each gateway */
  gatewayUrls: string[]
  gateways: FastifyInstance[]
  auth: FastifyInstance
  databaseUrl: string
  /** The NATS namespace (prefix of every stream and subject). */
  ns: string
  natsUrl: string
  /** Every app with its captured log lines. */
  apps: StackApp[]
  nc: NatsConnection
  rpc: ChatRpcClient
  /** Resolves once message-writer's projection knows the user (a direct send to them needs it). */
  known: (userId: string) => Promise<void>
}

export interface StackOptions {
  gateways?: number
  /** auth-api ACCESS_TOKEN_TTL_SECONDS (at least 10). */
  accessTokenTtlSeconds?: number
  /** Variables for every gateway, as strings. */
  gatewayEnv?: Record<string, string>
}

/**
 * The whole server side in this process, as in production: auth-api,
 * message-writer and chat-gateways built with their own buildApp on one
 * fresh database (schemas auth and chat) and one fresh NATS namespace, each
 * listening on a free port, each with its log lines captured. Closed at teardown.
 */
export async function startStack (t: Teardown, options: StackOptions = {}): Promise<Stack> {
  const natsUrl = testNatsUrl()
  const databaseUrl = await createTestDatabase(t)
  const ns = createTestNamespace(t, natsUrl)
  const dataDir = await mkdtemp(join(tmpdir(), 'mdclient-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const apps: StackApp[] = []

  const authLogs = captureLogs()
  apps.push({ name: 'auth-api', logs: authLogs })
  const authConfig = loadConfig(AuthConfig, {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: ns,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    BCRYPT_COST: '4',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    ...(options.accessTokenTtlSeconds !== undefined && { ACCESS_TOKEN_TTL_SECONDS: String(options.accessTokenTtlSeconds) })
  })
  const auth = await buildAuth(authConfig, {
    logger: createLogger({ name: 'auth-api', level: 'debug', destination: authLogs.stream }),
    relay: { pollMs: 100, minBackoffMs: 50, maxBackoffMs: 500, publishTimeoutMs: 1_000 }
  })
  t.teardown(async () => { await auth.close() })
  await auth.listen({ host: '127.0.0.1', port: 0 })
  const authUrl = `http://127.0.0.1:${portOf(auth)}`

  const writerLogs = captureLogs()
  apps.push({ name: 'message-writer', logs: writerLogs })
  const writer = await buildWriter(loadConfig(WriterConfig, { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, NATS_NAMESPACE: ns, LOG_LEVEL: 'debug' }), {
    logger: createLogger({ name: 'message-writer', level: 'debug', destination: writerLogs.stream })
  })
  t.teardown(async () => { await writer.close() })

  const gateways: FastifyInstance[] = []
  const gatewayUrls: string[] = []
  for (let i = 0; i < (options.gateways ?? 2); i++) {
    const logs = captureLogs()
    apps.push({ name: `chat-gateway-${i + 1}`, logs })
    const gw = await buildGateway(loadConfig(GatewayConfig, { NATS_URL: natsUrl, NATS_NAMESPACE: ns, AUTH_URL: authUrl, LOG_LEVEL: 'debug', ...options.gatewayEnv }), {
      logger: createLogger({ name: 'chat-gateway', level: 'debug', destination: logs.stream })
    })
    t.teardown(async () => { await gw.close() })
    await gw.listen({ host: '127.0.0.1', port: 0 })
    gateways.push(gw)
    gatewayUrls.push(`ws://127.0.0.1:${portOf(gw)}/v1/ws`)
  }

  const nc = await connect({ servers: natsUrl })
  t.teardown(async () => { await nc.close() })
  const rpc = chatRpc(nc, namespace(ns), { timeoutMs: 5_000 })

  return {
    authUrl,
    gatewayUrls,
    gateways,
    auth,
    databaseUrl,
    ns,
    natsUrl,
    apps,
    nc,
    rpc,
    async known (userId) {
      await until(async () => (await rpc.call('users.get', { userId })).user !== null, 15_000, `message-writer to know user ${userId}`)
    }
  }
}

function portOf (app: FastifyInstance): number {
  const address = app.server.address()
  if (typeof address !== 'object' || address === null) throw new Error('not listening')
  return address.port
}
