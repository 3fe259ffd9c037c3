import { randomUUID } from 'node:crypto'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream'
import { ensureStream, namespace, type Namespace } from '@metadome/nats'
import { chatStream, chatSubjects, usersStream, userEventSubject, type StreamMessage, type UserEventType } from '@metadome/contracts'
import { testNatsUrl, type Teardown } from '@metadome/testing'

export interface TestNats {
  nc: NatsConnection
  js: JetStreamClient
  ns: Namespace
  /** Publishes a USERS event, as auth-api's outbox relay does. */
  userEvent: (type: UserEventType, userId: string, occurredAt?: Date) => Promise<void>
  /** Publishes a message to CHAT as a gateway does; resolves with its seq. */
  chatMessage: (message: Omit<StreamMessage, 'id' | 'sentAt'> & { id?: string }) => Promise<number>
}

/** A test's own NATS connection to the namespace the apps under test use. */
export async function testNats (t: Teardown, ns: string, url = testNatsUrl()): Promise<TestNats> {
  const nc = await connect({ servers: url })
  t.teardown(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  const names = namespace(ns)
  await ensureStream(jsm, usersStream(names))
  await ensureStream(jsm, chatStream(names))
  const js = jetstream(nc)
  return {
    nc,
    js,
    ns: names,
    async userEvent (type, userId, occurredAt = new Date()) {
      const id = randomUUID()
      const event = { id, type, occurredAt: occurredAt.toISOString(), user: { id: userId, username: `u${userId.slice(0, 8)}`, displayName: 'Test User' } }
      await js.publish(userEventSubject(names, type), JSON.stringify(event), { msgID: id })
    },
    async chatMessage (message) {
      const full: StreamMessage = { id: message.id ?? randomUUID(), sentAt: new Date().toISOString(), ...message }
      const ack = await js.publish(chatSubjects(names).message(full.conversationId), JSON.stringify(full), { msgID: full.id })
      return ack.seq
    }
  }
}
