import type { ColumnType } from 'kysely'

export interface RecoveryCodeTable {
  user_id: string
  /** SHA-256 of the normalised code (lower case, no dash). */
  code_hash: Buffer
  created_at: ColumnType<Date, never, never>
}
