import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream'
import { Compile } from 'typebox/compile'
import type { FastifyBaseLogger } from 'fastify'
import { RESUMING_PULL, type Namespace } from '@metadome/nats'
import { UserEvent, usersStream } from '@metadome/contracts'

const checkEvent = Compile(UserEvent)

/** How far back a starting gateway reads USERS: longer than any access token lives. */
const LOOKBACK_MS = 60 * 60_000

/**
 * Who may no longer be connected, from USERS events: deleted users, sessions
 * that ended (logout, revoked, signed out elsewhere), and users whose
 * sessions were all revoked at some time (tokens issued before it are
 * refused). Entries outlive every token issued before them, then go.
 */
export class Revocations {
  readonly #deleted = new Map<string, number>()
  readonly #revoked = new Map<string, number>()
  /** Ended sessions, by id, with when the gateway learned it. */
  readonly #sessions = new Map<string, number>()

  constructor (readonly now: () => number = Date.now) {}

  delete (userId: string): void {
    this.#deleted.set(userId, this.now())
  }

  revoke (userId: string, atMs: number): void {
    this.#revoked.set(userId, Math.max(this.#revoked.get(userId) ?? 0, atMs))
  }

  endSessions (sessionIds: readonly string[]): void {
    const now = this.now()
    for (const id of sessionIds) this.#sessions.set(id, now)
  }

  sessionEnded (sessionId: string): boolean {
    return this.#sessions.has(sessionId)
  }

  /** Whether a token of `userId` for `sessionId`, issued at `issuedAt` (seconds), is no longer good. */
  refuses (userId: string, sessionId: string, issuedAt: number): boolean {
    if (this.#deleted.has(userId) || this.#sessions.has(sessionId)) return true
    const revokedAt = this.#revoked.get(userId)
    // iat has a resolution of a second: a token from the same second as the revocation is refused too.
    return revokedAt !== undefined && issuedAt <= Math.floor(revokedAt / 1000)
  }

  prune (): void {
    const horizon = this.now() - LOOKBACK_MS
    for (const map of [this.#revoked, this.#deleted, this.#sessions]) {
      for (const [key, at] of map) if (at < horizon) map.delete(key)
    }
  }
}

export interface UserEventsDeps {
  js: JetStreamClient
  ns: Namespace
  log: FastifyBaseLogger
  onEvent: (event: UserEvent) => void
}

/**
 * Follows USERS with an ordered consumer (it resumes by itself after a NATS
 * outage), from an hour back so a gateway that starts knows recent
 * revocations. Returns a function that stops it.
 */
export async function followUserEvents (deps: UserEventsDeps): Promise<() => Promise<void>> {
  const consumer = await deps.js.consumers.get(usersStream(deps.ns).name, {
    filter_subjects: deps.ns.subject('users', '>'),
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(Date.now() - LOOKBACK_MS).toISOString()
  })
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256, ...RESUMING_PULL })
  const done = (async () => {
    for await (const m of messages) {
      let event: unknown
      try {
        event = m.json()
      } catch {
        event = undefined
      }
      if (!checkEvent.Check(event)) {
        deps.log.warn({ subject: m.subject, seq: m.seq }, 'ignored a USERS event that does not match the contract')
        continue
      }
      try {
        deps.onEvent(event)
      } catch (err) {
        deps.log.error({ err }, 'handling a USERS event failed')
      }
    }
  })()
  return async () => {
    await messages.close()
    await done
  }
}
