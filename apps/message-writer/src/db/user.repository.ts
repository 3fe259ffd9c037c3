import { sql, type Kysely } from 'kysely'
import type { ChatDatabase } from './database.js'
import type { UserRow } from './user.table.js'

/** A user's state after one USERS event; `version` is the event's stream sequence. */
export interface UserChange {
  id: string
  version: number
  occurredAt: Date
  /** null: the user was deleted. */
  profile: { username: string, displayName: string } | null
}

/**
 * Applies changes so that the newest version of each user wins whatever order
 * they arrive in (several replicas consume USERS at once). A deletion keeps a
 * tombstone without the names, so a late older event cannot bring the user
 * back. Changes to one user in the same call are reduced to the newest first.
 */
export async function applyUserChanges (db: Kysely<ChatDatabase>, changes: UserChange[]): Promise<void> {
  const newest = new Map<string, UserChange>()
  for (const c of changes) {
    const seen = newest.get(c.id)
    if (seen === undefined || seen.version < c.version) newest.set(c.id, c)
  }
  if (newest.size === 0) return
  // Sorted by id: concurrent calls lock the rows they share in the same order.
  const rows = [...newest.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0).map((c) => ({
    id: c.id,
    version: c.version,
    username: c.profile?.username ?? null,
    display_name: c.profile?.displayName ?? null,
    updated_at: c.occurredAt,
    deleted_at: c.profile === null ? c.occurredAt : null
  }))
  await db.insertInto('users')
    .values(rows)
    .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({
      version: eb.ref('excluded.version'),
      username: eb.ref('excluded.username'),
      display_name: eb.ref('excluded.display_name'),
      updated_at: eb.ref('excluded.updated_at'),
      deleted_at: eb.ref('excluded.deleted_at')
    })).where('users.version', '<', sql<number>`excluded.version`))
    .execute()
}

export interface ExistingUser {
  id: string
  username: string
  displayName: string
}

/** The user unless unknown or deleted. */
export async function findUser (db: Kysely<ChatDatabase>, id: string): Promise<ExistingUser | undefined> {
  const row: Pick<UserRow, 'id' | 'username' | 'display_name'> | undefined = await db.selectFrom('users')
    .select(['id', 'username', 'display_name'])
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  if (row === undefined || row.username === null || row.display_name === null) return undefined
  return { id: row.id, username: row.username, displayName: row.display_name }
}
