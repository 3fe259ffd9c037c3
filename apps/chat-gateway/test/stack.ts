import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { chatRpc, type ChatRpcClient } from '@metadome/contracts'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, until, type Teardown } from '@metadome/testing'
import { WriterConfig } from '../../message-writer/src/config.js'
import { buildApp as buildWriter } from '../../message-writer/src/app.js'
import { build, type TestGateway } from './helper.js'
import { startJwksServer, type JwksServer } from './jwks-server.js'
import { testNats, type TestNats } from './nats.js'

export interface Stack {
  jwks: JwksServer
  nats: TestNats
  rpc: ChatRpcClient
  sql: pg.Pool
  /** Two gateways on one namespace. */
  a: TestGateway
  b: TestGateway
  /** Starts message-writer (again); stopWriter stops it. */
  startWriter: () => Promise<void>
  stopWriter: () => Promise<void>
  /** A user registered through USERS and known to the writer's projection. */
  user: () => Promise<string>
}

/**
 * The chat side end to end: the real message-writer (its buildApp) on a fresh
 * database, two gateways in this process on one NATS namespace, and a JWKS
 * server signing tokens (or auth-api at `authUrl`).
 */
export async function startStack (t: Teardown, options: { namespace?: string, authUrl?: string } = {}): Promise<Stack> {
  const jwks = await startJwksServer(t)
  const ns = options.namespace ?? createTestNamespace(t)
  const databaseUrl = await createTestDatabase(t)
  const nats = await testNats(t, ns)
  const sql = new pg.Pool({ connectionString: databaseUrl, max: 2 })
  t.teardown(async () => { await sql.end() })

  let writer: Awaited<ReturnType<typeof buildWriter>> | undefined
  const startWriter = async (): Promise<void> => {
    const config = loadConfig(WriterConfig, { DATABASE_URL: databaseUrl, NATS_URL: testNatsUrl(), NATS_NAMESPACE: ns, LOG_LEVEL: 'warn' })
    writer = await buildWriter(config, { logger: createLogger({ name: 'message-writer', level: 'warn', destination: captureLogs().stream }) })
  }
  const stopWriter = async (): Promise<void> => {
    const w = writer
    writer = undefined
    await w?.close()
  }
  t.teardown(stopWriter)
  await startWriter()

  const authUrl = options.authUrl ?? jwks.url
  const a = await build(t, { AUTH_URL: authUrl, NATS_NAMESPACE: ns })
  const b = await build(t, { AUTH_URL: authUrl, NATS_NAMESPACE: ns })
  const rpc = chatRpc(nats.nc, nats.ns, { timeoutMs: 5_000 })
  return {
    jwks,
    nats,
    rpc,
    sql,
    a,
    b,
    startWriter,
    stopWriter,
    async user () {
      const userId = randomUUID()
      await nats.userEvent('registered', userId)
      await until(async () => (await rpc.call('users.get', { userId })).user !== null, 10_000, 'the writer to know the user')
      return userId
    }
  }
}
