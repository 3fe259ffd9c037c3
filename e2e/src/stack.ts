import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { chatRpc, type ChatRpcClient } from '@metadome/contracts'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, until, type CapturedLogs, type Teardown } from '@metadome/testing'
import type { GatewayConfig } from '@metadome/chat-gateway/config'
import { buildAuthApi, buildGateway, buildWriter, listen, type Env } from './apps.js'
import { startJwksServer, type JwksServer } from './jwks-server.js'
import { testNats, type TestNats } from './nats.js'

export interface StackApp {
  name: string
  logs: CapturedLogs
}

export interface StackGateway {
  app: FastifyInstance
  config: GatewayConfig
  logs: CapturedLogs
  /** http://127.0.0.1:<port> */
  url: string
  /** ws://127.0.0.1:<port>/v1/ws */
  wsUrl: string
}

export interface Stack {
  /** What every gateway's AUTH_URL points at: auth-api, or the JWKS stand-in. */
  authUrl: string
  gateways: StackGateway[]
  /** ws://127.0.0.1:<port>/v1/ws of each gateway, in order. */
  gatewayUrls: string[]
  /** One database for every app (schemas auth and chat), as `npm start` runs them. */
  databaseUrl: string
  /** A small pool on that database, for tests that look at what was stored. */
  sql: pg.Pool
  /** The NATS namespace (prefix of every stream and subject). */
  ns: string
  natsUrl: string
  /** The test's own NATS connection to the namespace, with USERS and CHAT publishers. */
  nats: TestNats
  rpc: ChatRpcClient
  /** Every app with its captured log lines (a restarted writer keeps writing to its own). */
  apps: StackApp[]
  /** Starts message-writer again after stopWriter (the stack starts with it running). */
  startWriter: () => Promise<void>
  stopWriter: () => Promise<void>
  /** Resolves once message-writer's projection knows the user (a direct send to them needs it). */
  known: (userId: string) => Promise<void>
  /** A fresh user published to USERS as auth-api's outbox relay does, once the writer knows them. */
  user: () => Promise<string>
}

/** The stack with the real auth-api: users register and sign in through it. */
export interface AuthStack extends Stack {
  /** auth-api, listening at authUrl. */
  auth: FastifyInstance
}

/** The stack with a JWKS server in auth-api's place: tests mint their own tokens (jwks.token). */
export interface JwksStack extends Stack {
  jwks: JwksServer
}

export interface StackOptions {
  /** How many chat-gateways (2 by default). */
  gateways?: number
  /** auth-api ACCESS_TOKEN_TTL_SECONDS (at least 10). */
  accessTokenTtlSeconds?: number
  /** Variables for auth-api, as strings. */
  authEnv?: Env
  /** Variables for every gateway, as strings. */
  gatewayEnv?: Env
  /** Variables for message-writer, as strings. */
  writerEnv?: Env
  /** A JWKS stand-in instead of auth-api, for gateway tests about their own tokens. */
  jwks?: boolean
}

/**
 * The whole server side in this process, as in production: auth-api (or a
 * JWKS stand-in), message-writer and chat-gateways built with their own
 * buildApp on one fresh database and one fresh NATS namespace, the HTTP ones
 * listening on free ports, each with its log lines captured. Closed at teardown.
 */
export async function startStack (t: Teardown, options: StackOptions & { jwks: true }): Promise<JwksStack>
export async function startStack (t: Teardown, options?: StackOptions & { jwks?: false }): Promise<AuthStack>
export async function startStack (t: Teardown, options: StackOptions = {}): Promise<AuthStack | JwksStack> {
  const natsUrl = testNatsUrl()
  const databaseUrl = await createTestDatabase(t)
  const ns = createTestNamespace(t, natsUrl)
  const shared = { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, NATS_NAMESPACE: ns }
  // Opened first: it creates USERS and CHAT, so a test may publish before any app did.
  const nats = await testNats(t, ns, natsUrl)
  const sql = new pg.Pool({ connectionString: databaseUrl, max: 2 })
  t.teardown(async () => { await sql.end() })
  const apps: StackApp[] = []

  let auth: { app: FastifyInstance } | { jwks: JwksServer }
  let authUrl: string
  if (options.jwks === true) {
    const jwks = await startJwksServer(t)
    auth = { jwks }
    authUrl = jwks.url
  } else {
    const built = await buildAuthApi(t, {
      ...shared,
      ...(options.accessTokenTtlSeconds !== undefined && { ACCESS_TOKEN_TTL_SECONDS: String(options.accessTokenTtlSeconds) }),
      ...options.authEnv
    })
    apps.push({ name: 'auth-api', logs: built.logs })
    auth = { app: built.app }
    authUrl = await listen(built.app)
  }

  const writerLogs = captureLogs()
  apps.push({ name: 'message-writer', logs: writerLogs })
  let writer: FastifyInstance | undefined
  const startWriter = async (): Promise<void> => {
    writer = (await buildWriter(t, { ...shared, ...options.writerEnv }, { logs: writerLogs })).app
  }
  const stopWriter = async (): Promise<void> => {
    const w = writer
    writer = undefined
    await w?.close()
  }
  await startWriter()

  const gateways: StackGateway[] = []
  for (let i = 0; i < (options.gateways ?? 2); i++) {
    const built = await buildGateway(t, { NATS_URL: natsUrl, NATS_NAMESPACE: ns, AUTH_URL: authUrl, ...options.gatewayEnv })
    apps.push({ name: `chat-gateway-${i + 1}`, logs: built.logs })
    const url = await listen(built.app)
    gateways.push({ ...built, url, wsUrl: `${url.replace('http://', 'ws://')}/v1/ws` })
  }

  const rpc = chatRpc(nats.nc, nats.ns, { timeoutMs: 5_000 })
  const known = async (userId: string): Promise<void> => {
    await until(async () => (await rpc.call('users.get', { userId })).user !== null, 15_000, `message-writer to know user ${userId}`)
  }
  const stack: Stack = {
    authUrl,
    gateways,
    gatewayUrls: gateways.map((g) => g.wsUrl),
    databaseUrl,
    sql,
    ns,
    natsUrl,
    nats,
    rpc,
    apps,
    startWriter,
    stopWriter,
    known,
    async user () {
      const userId = randomUUID()
      await nats.userEvent('registered', userId)
      await known(userId)
      return userId
    }
  }
  return 'jwks' in auth ? { ...stack, jwks: auth.jwks } : { ...stack, auth: auth.app }
}
