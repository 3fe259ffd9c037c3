import type { ColumnType } from 'kysely'

/** One user blocking another (the `blocks` table). */
export interface BlockTable {
  blocker_id: string
  blocked_id: string
  /** Set by the database when the block is made. */
  created_at: ColumnType<Date, never, never>
}
