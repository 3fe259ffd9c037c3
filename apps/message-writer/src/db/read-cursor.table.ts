import type { ColumnType, Selectable } from 'kysely'

/** The highest seq a user has read in a conversation; never moves backwards. */
export interface ReadCursorTable {
  conversation_id: string
  user_id: string
  seq: number
  updated_at: ColumnType<Date, Date | undefined, Date>
}

export type ReadCursorRow = Selectable<ReadCursorTable>
