import type { ColumnType, Generated, Selectable, Insertable, Updateable } from 'kysely'

export interface UserTable {
  id: Generated<string>
  username: string
  display_name: string
  email: string | null
  password_hash: string
  role: Generated<'user' | 'admin'>
  created_at: ColumnType<Date, never, never>
  updated_at: ColumnType<Date, never, Date>
}

export type UserRow = Selectable<UserTable>
export type NewUserRow = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>
