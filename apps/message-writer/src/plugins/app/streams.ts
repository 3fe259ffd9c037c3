import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'
import { ensureConsumer, ensureStream, RESUMING_API_TIMEOUT_MS } from '@metadome/nats'
import { chatStream, usersStream, type ChatStreamLimits } from '@metadome/contracts'
import { deadLetterPublisher, deadLetterStream, type DeadLetterPublisher } from '../../writer/dead-letter.js'
import { storedThroughReader } from '../../writer/position.js'
import { nextGroupEventReader, type NextGroupEvent } from '../../writer/membership.js'

declare module 'fastify' {
  interface FastifyInstance {
    writerStreams: {
      js: JetStreamClient
      jsm: JetStreamManager
      chat: Consumer
      users: Consumer
      deadLetter: DeadLetterPublisher
      /** The CHAT seq at and below which everything is stored (the writer consumer's ack floor). */
      storedThrough: () => Promise<number>
      /** A group's first event in CHAT at or after a seq. */
      nextGroupEvent: NextGroupEvent
    }
  }
}

export interface StreamsOptions {
  /** Unacked messages the CHAT consumer allows across all replicas. */
  maxAckPending: number
  /** How long a message taken by a replica that died waits before it goes to another. */
  ackWaitMs: number
  /** CHAT_STREAM_MAX_AGE_DAYS and CHAT_STREAM_MAX_BYTES. */
  chatLimits: ChatStreamLimits
}

/**
 * Set-up, before any loop starts: the streams this app reads and writes
 * (idempotent; whichever app starts first creates them) and the writer's two
 * durable pull consumers, shared by all replicas. Acks are explicit, a
 * message not acked within ack_wait is delivered again, and there is no
 * max_deliver: a message is only ever settled by being stored or
 * dead-lettered, never by running out of attempts (position.ts relies on it).
 */
export const streamsPlugin = fp(async function streamsPlugin (app: FastifyInstance, opts: StreamsOptions) {
  const { nc, ns } = app.nats
  // No API check here: during a NATS election it times out, and ensureStream retries what follows.
  const jsm = await jetstreamManager(nc, { checkAPI: false })
  const js = jetstream(nc)
  const chat = chatStream(ns, opts.chatLimits)
  const users = usersStream(ns)
  const { replicas } = app.nats
  await ensureStream(jsm, chat, replicas)
  // auth-api owns USERS: the writer creates it when missing, never changes it.
  await ensureStream(jsm, users, replicas, { owner: false })
  await ensureStream(jsm, deadLetterStream(ns), replicas)

  const common = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(opts.ackWaitMs),
    max_deliver: -1
  }
  await ensureConsumer(jsm, chat.name, { ...common, durable_name: ns.consumer('writer'), max_ack_pending: opts.maxAckPending }, replicas)
  await ensureConsumer(jsm, users.name, { ...common, durable_name: ns.consumer('writer_users'), max_ack_pending: 1_000 }, replicas)

  // Consumers checked after a reconnect give up on a leaderless one sooner (RESUMING_PULL).
  const { consumers } = jetstream(nc, { timeout: RESUMING_API_TIMEOUT_MS })
  app.decorate('writerStreams', {
    js,
    jsm,
    chat: await consumers.get(chat.name, ns.consumer('writer')),
    users: await consumers.get(users.name, ns.consumer('writer_users')),
    deadLetter: deadLetterPublisher(js, ns),
    storedThrough: storedThroughReader(jsm, chat.name, ns.consumer('writer')),
    nextGroupEvent: nextGroupEventReader(jsm, chat.name, ns)
  })
}, { name: 'writer-streams', dependencies: ['metadome-nats'] })
