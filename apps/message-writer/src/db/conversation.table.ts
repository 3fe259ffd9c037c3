import type { ColumnType, Insertable, Selectable } from 'kysely'

export type ConversationKind = 'direct' | 'group'

export interface ConversationTable {
  /** dm_<userId>_<userId> (directConversationId) or a group's UUID. */
  id: string
  kind: ConversationKind
  title: string | null
  created_at: Date
  /** seq of the newest stored message; only grows. */
  last_seq: ColumnType<number, number | undefined, number>
}

export type ConversationRow = Selectable<ConversationTable>
export type NewConversationRow = Insertable<ConversationTable>
