import type { Selectable, Insertable } from 'kysely'

/**
 * A user as the chat side knows them (projection of USERS events). `version`
 * is the USERS stream sequence of the event the row reflects; a deleted user
 * is a tombstone: `deleted_at` set, names null.
 */
export interface UserTable {
  id: string
  username: string | null
  display_name: string | null
  updated_at: Date
  version: number
  deleted_at: Date | null
}

export type UserRow = Selectable<UserTable>
export type NewUserRow = Insertable<UserTable>
