import { sql, type Kysely, type Transaction } from 'kysely'
import type { AuthDatabase } from './database.js'
import type { SessionRow } from './session.table.js'
import type { RefreshTokenRow } from './refresh-token.table.js'

type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>

export async function createSession (trx: Transaction<AuthDatabase>, s: { userId: string, userAgent: string | null, ip: string | null, expiresAt: Date, successorKey: Buffer }): Promise<SessionRow> {
  return await trx.insertInto('sessions')
    .values({ user_id: s.userId, user_agent: s.userAgent, ip: s.ip, expires_at: s.expiresAt, successor_key: s.successorKey })
    .returningAll().executeTakeFirstOrThrow()
}

export async function insertRefreshToken (trx: Transaction<AuthDatabase>, t: { hash: Buffer, sessionId: string, expiresAt: Date }): Promise<void> {
  await trx.insertInto('refresh_tokens').values({ token_hash: t.hash, session_id: t.sessionId, expires_at: t.expiresAt }).execute()
}

export type RefreshTokenWithSession = RefreshTokenRow & { user_id: string, revoked_at: Date | null, session_created_at: Date, session_expires_at: Date, successor_key: Buffer }

/** The token and its session, the token row locked: concurrent refreshes of one token take turns. */
export async function lockRefreshToken (trx: Transaction<AuthDatabase>, hash: Buffer): Promise<RefreshTokenWithSession | undefined> {
  return await trx.selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .selectAll('refresh_tokens')
    .select(['sessions.user_id', 'sessions.revoked_at', 'sessions.created_at as session_created_at', 'sessions.expires_at as session_expires_at', 'sessions.successor_key'])
    .where('refresh_tokens.token_hash', '=', hash)
    .forUpdate('refresh_tokens')
    .executeTakeFirst()
}

export async function spendRefreshToken (trx: Transaction<AuthDatabase>, hash: Buffer, successor: Buffer, at: Date): Promise<void> {
  await trx.updateTable('refresh_tokens').set({ spent_at: at, successor_hash: successor }).where('token_hash', '=', hash).execute()
}

export async function touchSession (trx: Transaction<AuthDatabase>, id: string, expiresAt: Date, ip: string | null): Promise<void> {
  await trx.updateTable('sessions').set({ last_used_at: new Date(), expires_at: expiresAt, ...(ip !== null && { ip }) }).where('id', '=', id).execute()
}

/**
 * Marks a session used by a signed-in request, at most once a minute: a
 * cheap update that mostly matches nothing, so "last used" is true to the
 * minute without a write per request.
 */
export async function markSessionUsed (db: Db, id: string): Promise<void> {
  await db.updateTable('sessions').set({ last_used_at: new Date() })
    .where('id', '=', id).where('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)
    .execute()
}

/** Ends one session; false when it was not an active session of that user. */
export async function revokeSession (db: Db, id: string, userId: string, reason: string): Promise<boolean> {
  const res = await db.updateTable('sessions').set({ revoked_at: new Date(), revoked_reason: reason })
    .where('id', '=', id).where('user_id', '=', userId).where('revoked_at', 'is', null)
    .executeTakeFirst()
  // Its refresh tokens are useless now; drop them rather than keep hashes around.
  await db.deleteFrom('refresh_tokens').where('session_id', '=', id).execute()
  return res.numUpdatedRows > 0n
}

/** Ends every active session of a user but `keep`; returns the ids of those that ended. */
export async function revokeUserSessions (trx: Transaction<AuthDatabase>, userId: string, reason: string, keep?: string): Promise<string[]> {
  let q = trx.updateTable('sessions').set({ revoked_at: new Date(), revoked_reason: reason })
    .where('user_id', '=', userId).where('revoked_at', 'is', null)
  if (keep !== undefined) q = q.where('id', '!=', keep)
  const ids = (await q.returning('id').execute()).map((r) => r.id)
  if (ids.length > 0) await trx.deleteFrom('refresh_tokens').where('session_id', 'in', ids).execute()
  return ids
}

export async function listActiveSessions (db: Db, userId: string): Promise<SessionRow[]> {
  return await db.selectFrom('sessions').selectAll()
    .where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', sql<Date>`now()`)
    .orderBy('created_at', 'desc').orderBy('id')
    .execute()
}

/**
 * Forgets what can no longer be used: refresh tokens past their expiry (a
 * spent one is kept until then, to recognise its reuse), and sessions that
 * ended or expired more than `keepDays` ago (their tokens go with them).
 */
export async function pruneSessions (db: Kysely<AuthDatabase>, keepDays: number): Promise<void> {
  await db.deleteFrom('refresh_tokens').where('expires_at', '<', sql<Date>`now()`).execute()
  await db.deleteFrom('sessions')
    .where((eb) => eb.or([
      eb('revoked_at', '<', sql<Date>`now() - make_interval(days => ${keepDays})`),
      eb('expires_at', '<', sql<Date>`now() - make_interval(days => ${keepDays})`)
    ]))
    .execute()
}
