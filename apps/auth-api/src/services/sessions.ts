import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import type { AuthDatabase } from '../db/database.js'
import type { UserRow } from '../db/user.table.js'
import { findUserById, lockUserById } from '../db/user.repository.js'
import { createSession, insertRefreshToken, lockRefreshToken, revokeSession, spendRefreshToken, touchSession } from '../db/session.repository.js'
import { appendSessionsRevoked } from '../db/outbox.repository.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import { InvalidRefreshToken, RefreshTokenReused } from '../errors.js'
import type { Passwords } from '../plugins/app/passwords.js'
import type { Tokens } from '../plugins/app/tokens.js'

export interface SessionsContext {
  db: Kysely<AuthDatabase>
  passwords: Passwords
  tokens: Tokens
  refreshTtlSeconds: number
  /** A session's absolute lifetime, counted from its sign-in. */
  sessionMaxAgeSeconds: number
  graceSeconds: number
  eventsWritten: () => void
}

export interface Issued {
  accessToken: string
  refreshToken: string
  user: UserRow
}

export const sha256 = (token: string): Buffer => createHash('sha256').update(token).digest()

/**
 * A refresh token's successor: HMAC-SHA256 of the token under the session's
 * own random key. Indistinguishable from 256 random bits to anyone without
 * that key and the token, and the same every time it is computed, which is
 * what lets two tabs refreshing at once both receive the same new token.
 */
const successorOf = (key: Buffer, token: string): string => createHmac('sha256', key).update(token).digest('base64url')

/** How a session began, for the audit log. */
export type SignInMethod = 'password' | 'totp' | 'recovery_code' | 'passkey'

export interface SessionStart {
  userAgent: string | null
  ip: string | undefined
  method: SignInMethod
}

/**
 * A new session and its first refresh token, with its audit entry in the
 * same transaction. Every way of signing in ends here, after its own checks.
 */
export async function startSession (ctx: SessionsContext, user: UserRow, start: SessionStart, inTrx?: (trx: Transaction<AuthDatabase>) => Promise<void>): Promise<Issued> {
  const refreshToken = randomBytes(32).toString('base64url')
  const now = new Date()
  const expiresAt = new Date(now.getTime() + Math.min(ctx.refreshTtlSeconds, ctx.sessionMaxAgeSeconds) * 1000)
  const ip = start.ip ?? null
  const session = await ctx.db.transaction().execute(async (trx) => {
    await inTrx?.(trx)
    const session = await createSession(trx, { userId: user.id, userAgent: start.userAgent, ip, expiresAt, successorKey: randomBytes(32) })
    await insertRefreshToken(trx, { hash: sha256(refreshToken), sessionId: session.id, expiresAt })
    await insertAuditEntry(trx, { action: 'login.succeeded', actorId: user.id, userId: user.id, ip, details: { method: start.method, sessionId: session.id } })
    return session
  })
  return { accessToken: ctx.tokens.issue(user.id, session.id, now), refreshToken, user }
}

/**
 * Rotation: a token works once and is replaced by its successor. Presented
 * again within the grace window, it yields the very same new pair (the
 * successor is derived, and EdDSA signs deterministically); after that, it
 * means the token was copied, and the whole session is revoked.
 *
 * Each refresh extends the session, but never past its sign-in plus
 * sessionMaxAgeSeconds: whoever holds a refresh token (a thief included)
 * cannot keep a session alive for ever by refreshing it. The cap is checked
 * against created_at, not only expires_at, so sessions that began before the
 * limit was lowered (or existed) end on time too.
 */
export async function refresh (ctx: SessionsContext, refreshToken: string, ip: string | undefined): Promise<Issued> {
  const hash = sha256(refreshToken)
  const result = await ctx.db.transaction().execute(async (trx) => {
    const row = await lockRefreshToken(trx, hash)
    const now = new Date()
    if (row === undefined || row.revoked_at !== null || row.expires_at <= now || row.session_expires_at <= now) return undefined
    const sessionEnd = new Date(row.session_created_at.getTime() + ctx.sessionMaxAgeSeconds * 1000)
    if (sessionEnd <= now) return undefined
    const successor = successorOf(row.successor_key, refreshToken)
    const successorHash = sha256(successor)

    if (row.spent_at === null) {
      const expiresAt = new Date(Math.min(now.getTime() + ctx.refreshTtlSeconds * 1000, sessionEnd.getTime()))
      await insertRefreshToken(trx, { hash: successorHash, sessionId: row.session_id, expiresAt })
      await spendRefreshToken(trx, hash, successorHash, now)
      await touchSession(trx, row.session_id, expiresAt, ip ?? null)
      return { userId: row.user_id, sessionId: row.session_id, successor, issuedAt: now }
    }
    if (now.getTime() - row.spent_at.getTime() <= ctx.graceSeconds * 1000 && row.successor_hash?.equals(successorHash) === true) {
      return { userId: row.user_id, sessionId: row.session_id, successor, issuedAt: row.spent_at }
    }

    await revokeSession(trx, row.session_id, row.user_id, 'refresh_token_reused')
    const user = await lockUserById(trx, row.user_id)
    // The copied token's session ends, not the user's others: the thief held this one only.
    if (user !== undefined) await appendSessionsRevoked(trx, user, [row.session_id])
    await insertAuditEntry(trx, { action: 'session.refresh_reused', actorId: null, userId: row.user_id, ip: ip ?? null, details: { sessionId: row.session_id } })
    return 'reused' as const
  })
  if (result === 'reused') {
    ctx.eventsWritten()
    throw new RefreshTokenReused()
  }
  if (result === undefined) throw new InvalidRefreshToken()
  const user = await findUserById(ctx.db, result.userId)
  // Disabling revokes every session; this covers a refresh racing it.
  if (user === undefined || user.disabled) throw new InvalidRefreshToken()
  return { accessToken: ctx.tokens.issue(result.userId, result.sessionId, result.issuedAt), refreshToken: result.successor, user }
}

/**
 * Ends the session the token belongs to (spent or not); an unknown token is
 * already logged out. The chat side is told in the same transaction, so the
 * session's open sockets close too, and only when it was still active.
 */
export async function logout (ctx: SessionsContext, refreshToken: string, ip: string | undefined): Promise<void> {
  const ended = await ctx.db.transaction().execute(async (trx) => {
    // The token first, then its session, the order refresh() locks them in:
    // a logout racing a refresh of the same token waits for it rather than
    // deadlocking. The user row is only read (the event needs its names).
    const row = await lockRefreshToken(trx, sha256(refreshToken))
    if (row === undefined || !await revokeSession(trx, row.session_id, row.user_id, 'logout')) return false
    const user = await findUserById(trx, row.user_id)
    if (user !== undefined) await appendSessionsRevoked(trx, user, [row.session_id])
    await insertAuditEntry(trx, { action: 'session.logout', actorId: row.user_id, userId: row.user_id, ip: ip ?? null, details: { sessionId: row.session_id } })
    return true
  })
  if (ended) ctx.eventsWritten()
}

/** Ends one of the caller's sessions (signing a device out); the chat side closes that session's sockets. */
export async function endSession (ctx: SessionsContext, userId: string, sessionId: string, ip: string | undefined): Promise<boolean> {
  const ended = await ctx.db.transaction().execute(async (trx) => {
    const user = await lockUserById(trx, userId)
    if (user === undefined || !await revokeSession(trx, sessionId, userId, 'ended_by_user')) return false
    await appendSessionsRevoked(trx, user, [sessionId])
    await insertAuditEntry(trx, { action: 'session.revoked', actorId: userId, userId, ip: ip ?? null, details: { sessionId } })
    return true
  })
  if (ended) ctx.eventsWritten()
  return ended
}
