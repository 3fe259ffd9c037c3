import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { UserEvent, UserEventType } from '@metadome/contracts'
import type { AuthDatabase } from './database.js'
import type { OutboxRow } from './outbox.table.js'

/** Any number; the same on every replica. Serialises outbox writers (see appendEvent). */
const OUTBOX_WRITE_LOCK = 0x6d_64_6f_62 // "mdob"

export interface EventUser {
  id: string
  username: string
  display_name: string
}

export interface EventDetails {
  /**
   * sessions_revoked: the sessions that ended. Without it the event means
   * every session of the user that began before it, and gateways close all
   * of the user's sockets; with it, only those sessions' sockets.
   */
  sessionIds?: string[]
}

/**
 * Writes a user event in the caller's transaction, as its last statement.
 * The transaction-level advisory lock is held until commit, so outbox rows
 * are numbered in commit order: the relay can never see seq 6 committed
 * while seq 5 is still in flight, and publishes in that order.
 */
export async function appendEvent (trx: Transaction<AuthDatabase>, type: UserEventType, user: EventUser, details: EventDetails = {}): Promise<UserEvent> {
  const event: UserEvent = {
    id: randomUUID(),
    type,
    occurredAt: new Date().toISOString(),
    user: { id: user.id, username: user.username, displayName: user.display_name },
    ...(details.sessionIds !== undefined && { sessionIds: details.sessionIds })
  }
  await sql`select pg_advisory_xact_lock(${OUTBOX_WRITE_LOCK})`.execute(trx)
  await trx.insertInto('outbox').values({
    id: event.id,
    type,
    payload: JSON.stringify(event),
    occurred_at: new Date(event.occurredAt)
  }).execute()
  return event
}

/** The most session ids one event may carry (UserEvent's sessionIds, maxItems). */
const SESSION_IDS_PER_EVENT = 10_000

/**
 * sessions_revoked naming exactly `sessionIds`, as the last statements of the
 * caller's transaction: nothing when no session ended, and more than one
 * event in the rare case of more sessions than one event may name (never an
 * event without the list, which would end the user's other sessions too).
 */
export async function appendSessionsRevoked (trx: Transaction<AuthDatabase>, user: EventUser, sessionIds: string[]): Promise<void> {
  for (let i = 0; i < sessionIds.length; i += SESSION_IDS_PER_EVENT) {
    await appendEvent(trx, 'sessions_revoked', user, { sessionIds: sessionIds.slice(i, i + SESSION_IDS_PER_EVENT) })
  }
}

/**
 * Runs `fn` holding the relay lock, or returns false at once when another
 * relay (this process or another replica) holds it.
 */
export async function withRelayLock (db: Kysely<AuthDatabase>, fn: (trx: Transaction<AuthDatabase>) => Promise<void>): Promise<boolean> {
  return await db.transaction().execute(async (trx) => {
    const lock = await trx.selectFrom('outbox_relay_lock').select('id').forUpdate().skipLocked().executeTakeFirst()
    if (lock === undefined) return false
    await fn(trx)
    return true
  })
}

export async function pendingEvents (trx: Transaction<AuthDatabase>, limit: number): Promise<OutboxRow[]> {
  return await trx.selectFrom('outbox').selectAll().where('published_at', 'is', null).orderBy('seq').limit(limit).execute()
}

export async function markPublished (trx: Transaction<AuthDatabase>, seq: number): Promise<void> {
  await trx.updateTable('outbox').set({ published_at: new Date() }).where('seq', '=', seq).execute()
}

export async function backlog (db: Kysely<AuthDatabase>): Promise<number> {
  const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Published events are kept a while for operators, then pruned. */
export async function prunePublished (db: Kysely<AuthDatabase>, olderThanDays: number): Promise<void> {
  await db.deleteFrom('outbox')
    .where('published_at', '<', sql<Date>`now() - make_interval(days => ${olderThanDays})`)
    .execute()
}
