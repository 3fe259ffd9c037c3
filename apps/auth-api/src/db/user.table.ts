import type { ColumnType, Generated, Selectable, Insertable, Updateable } from 'kysely'

export interface UserTable {
  id: Generated<string>
  username: string
  display_name: string
  email: string | null
  password_hash: string
  role: Generated<'user' | 'admin'>
  /** Set by an admin: no sign-in of any kind, and every session ended. */
  disabled: Generated<boolean>
  /** Proven by a mailed link; a new address is unproven again. */
  email_verified: Generated<boolean>
  /** base32; set once enrolment is confirmed: sign-in then asks for a code. */
  totp_secret: ColumnType<string | null, string | null | undefined, string | null>
  totp_pending_secret: ColumnType<string | null, string | null | undefined, string | null>
  /** The time step of the last accepted code: each code works once. */
  totp_last_step: ColumnType<number | null, number | null | undefined, number | null>
  created_at: ColumnType<Date, never, never>
  updated_at: ColumnType<Date, never, Date>
}

export type UserRow = Selectable<UserTable>
export type NewUserRow = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>
