import type { Kysely, Transaction } from 'kysely'
import type { AuditAction, AuditDetails } from '@metadome/contracts'
import type { AuditLogRow } from './audit.table.js'
import type { AuthDatabase } from './database.js'

type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>

export interface NewAuditEntry {
  action: AuditAction
  /** Who acted: the signed-in caller, or null (an anonymous request, a script). */
  actorId: string | null
  /** Whose account it is about, when there is one. */
  userId: string | null
  ip: string | null
  details?: AuditDetails
}

export async function insertAuditEntry (db: Db, entry: NewAuditEntry): Promise<void> {
  await db.insertInto('audit_log').values({
    action: entry.action,
    actor_id: entry.actorId,
    user_id: entry.userId,
    ip: entry.ip,
    details: JSON.stringify(entry.details ?? {})
  }).execute()
}

/** Newest first, keyset-paged by id ("older than this one"). */
export async function listAuditEntries (db: Db, opts: { limit: number, before?: number, userId?: string }): Promise<AuditLogRow[]> {
  let q = db.selectFrom('audit_log').selectAll()
  if (opts.before !== undefined) q = q.where('id', '<', opts.before)
  if (opts.userId !== undefined) q = q.where('user_id', '=', opts.userId)
  return await q.orderBy('id', 'desc').limit(opts.limit).execute()
}
