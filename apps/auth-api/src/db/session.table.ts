import type { ColumnType, Generated, Selectable } from 'kysely'

export interface SessionTable {
  id: Generated<string>
  user_id: string
  user_agent: string | null
  /** The client address at sign-in, then at each refresh. */
  ip: ColumnType<string | null, string | null | undefined, string | null>
  successor_key: Buffer
  created_at: ColumnType<Date, never, never>
  last_used_at: ColumnType<Date, never, Date>
  expires_at: Date
  revoked_at: ColumnType<Date | null, never, Date>
  revoked_reason: ColumnType<string | null, never, string>
}

export type SessionRow = Selectable<SessionTable>
