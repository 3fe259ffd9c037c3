import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { namespace } from '@metadome/nats'
import { usersStream, type UserEvent } from '@metadome/contracts'
import type { FastifyInstance } from 'fastify'

export interface StoredEvent {
  seq: number
  subject: string
  msgId: string | undefined
  event: UserEvent
}

/** Everything in the namespace's USERS stream, in stream order. */
export async function readUsersStream (natsUrl: string, ns: string): Promise<StoredEvent[]> {
  const nc = await connect({ servers: natsUrl })
  try {
    const jsm = await jetstreamManager(nc)
    const name = usersStream(namespace(ns)).name
    const info = await jsm.streams.info(name).catch(() => undefined)
    const out: StoredEvent[] = []
    for (let seq = 1; info !== undefined && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq })
      if (m === null) continue
      out.push({ seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), event: m.json<UserEvent>() })
    }
    return out
  } finally {
    await nc.close()
  }
}

/** Event ids in the order the outbox numbered them. */
export async function outboxIds (app: FastifyInstance): Promise<string[]> {
  return (await app.authDb.selectFrom('outbox').select('id').orderBy('seq').execute()).map((r) => r.id)
}

export async function unpublished (app: FastifyInstance): Promise<number> {
  const rows = await app.authDb.selectFrom('outbox').select('id').where('published_at', 'is', null).execute()
  return rows.length
}

export const metricValue = (text: string, line: RegExp): number => Number(line.exec(text)?.[1] ?? NaN)
