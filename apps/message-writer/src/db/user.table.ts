import type { Selectable, Insertable } from 'kysely'

/** A user as the chat side knows them (projection of USERS events). */
export interface UserTable {
  id: string
  username: string
  display_name: string
  updated_at: Date
}

export type UserRow = Selectable<UserTable>
export type NewUserRow = Insertable<UserTable>
