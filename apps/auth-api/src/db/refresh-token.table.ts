import type { ColumnType, Selectable } from 'kysely'

export interface RefreshTokenTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: Buffer
  session_id: string
  created_at: ColumnType<Date, Date | undefined, never>
  expires_at: Date
  spent_at: ColumnType<Date | null, never, Date>
  successor_hash: ColumnType<Buffer | null, never, Buffer>
}

export type RefreshTokenRow = Selectable<RefreshTokenTable>
