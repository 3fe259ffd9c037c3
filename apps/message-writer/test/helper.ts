import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { ensureStream, namespace, type Namespace } from '@metadome/nats'
import { chatRpc, chatStream, chatSubjects, directConversationId, usersStream, userEventSubject, type ChatRpcClient, type ConversationEvent, type StreamMessage, type UserEvent } from '@metadome/contracts'
import { createTestDatabase, createTestNamespace, captureLogs, testNatsUrl, type CapturedLogs, type Teardown } from '@metadome/testing'
import { WriterConfig } from '../src/config.js'
import { buildApp } from '../src/app.js'
// What the plugins decorate the app with (app.chatDb, app.chatWriter, …), for
// the type checker: the augmentations live beside each plugin.
import type {} from '../src/plugins/external/db.js'
import type {} from '../src/plugins/app/streams.js'
import type {} from '../src/plugins/app/writers.js'
import type {} from '../src/plugins/app/writer-metrics.js'

export interface TestWriter {
  app: FastifyInstance
  config: WriterConfig
  logs: CapturedLogs
  /** Closes the app (idempotent); teardown closes it too. */
  close: () => Promise<void>
}

/**
 * One database and one NATS namespace that several writers (replicas, or the
 * same writer started again) share, with a client connection to publish to
 * CHAT and USERS, call the RPC service and read the tables.
 */
export interface WriterContext {
  databaseUrl: string
  ns: Namespace
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  rpc: ChatRpcClient
  sql: pg.Pool
  /** Starts a writer on this context; `env` overrides variables as strings. */
  start: (env?: Record<string, string>) => Promise<TestWriter>
  /** Publishes a message to CHAT as a gateway does (Nats-Msg-Id = id); resolves with its seq. */
  send: (message: StreamMessage) => Promise<number>
  /** Publishes a group membership event to CHAT as a gateway does (Nats-Msg-Id = id); resolves with its seq. */
  conversationEvent: (event: ConversationEvent) => Promise<number>
  /** Publishes a USERS event as auth-api's relay does; resolves with its seq. */
  userEvent: (type: UserEvent['type'], user: UserEvent['user']) => Promise<number>
  /** Rows of chat.messages, ascending seq. */
  messages: () => Promise<Array<{ id: string, seq: number, conversation_id: string }>>
}

export async function createWriterContext (t: Teardown): Promise<WriterContext> {
  const databaseUrl = await createTestDatabase(t)
  const ns = namespace(createTestNamespace(t))
  const nc = await connect({ servers: testNatsUrl() })
  const sql = new pg.Pool({ connectionString: databaseUrl, max: 2 })
  t.teardown(async () => {
    await sql.end()
    await nc.close()
  })
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  await ensureStream(jsm, chatStream(ns))
  await ensureStream(jsm, usersStream(ns))
  const subjects = chatSubjects(ns)

  return {
    databaseUrl,
    ns,
    nc,
    js,
    jsm,
    rpc: chatRpc(nc, ns, { timeoutMs: 5_000 }),
    sql,
    async start (env = {}) {
      const config = loadConfig(WriterConfig, {
        DATABASE_URL: databaseUrl,
        NATS_URL: testNatsUrl(),
        NATS_NAMESPACE: ns.prefix,
        LOG_LEVEL: 'debug',
        ...env
      })
      const logs = captureLogs()
      const app = await buildApp(config, { logger: createLogger({ name: 'message-writer', level: config.LOG_LEVEL, destination: logs.stream }) })
      let closed: Promise<void> | undefined
      const close = async (): Promise<void> => { closed ??= app.close(); await closed }
      t.teardown(close)
      return { app, config, logs, close }
    },
    async send (message) {
      const ack = await js.publish(subjects.message(message.conversationId), JSON.stringify(message), { msgID: message.id })
      return ack.seq
    },
    async conversationEvent (event) {
      const ack = await js.publish(subjects.conversationEvent(event.conversationId), JSON.stringify(event), { msgID: event.id })
      return ack.seq
    },
    async userEvent (type, user) {
      const event: UserEvent = { id: randomUUID(), type, occurredAt: new Date().toISOString(), user }
      const ack = await js.publish(userEventSubject(ns, type), JSON.stringify(event), { msgID: event.id })
      return ack.seq
    },
    async messages () {
      const { rows } = await sql.query<{ id: string, seq: string, conversation_id: string }>('select id, seq, conversation_id from chat.messages order by seq')
      return rows.map((r) => ({ ...r, seq: Number(r.seq) }))
    }
  }
}

/** Starts a writer on a fresh context: the common case. */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<TestWriter & { ctx: WriterContext }> {
  const ctx = await createWriterContext(t)
  return { ...(await ctx.start(env)), ctx }
}

/** A message between two users, as a gateway would publish it. */
export function directMessage (from: string, to: string, body: Record<string, unknown> = { text: 'hi' }): StreamMessage {
  return { id: randomUUID(), conversationId: directConversationId(from, to), senderId: from, sentAt: new Date().toISOString(), body }
}

/** A membership event without the fields every event has (id, conversationId, at). */
export type GroupEventInput = ConversationEvent extends infer E ? E extends ConversationEvent ? Omit<E, 'id' | 'at' | 'conversationId'> : never : never

/** A membership event of a group, as a gateway would publish it. */
export function groupEvent (conversationId: string, e: GroupEventInput): ConversationEvent {
  return { ...e, id: randomUUID(), conversationId, at: new Date().toISOString() } as ConversationEvent // the spread of a distributive Omit loses the union
}

/** A message to a group, as a gateway would publish it. */
export function groupMessage (conversationId: string, senderId: string, body: Record<string, unknown> = { text: 'hi' }): StreamMessage {
  return { id: randomUUID(), conversationId, senderId, sentAt: new Date().toISOString(), body }
}
