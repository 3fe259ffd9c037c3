import type { Insertable, Selectable } from 'kysely'

export type ConversationKind = 'direct' | 'group'

/** The newest seq of a conversation is not stored: it is max(seq) of its messages, read from the index. */
export interface ConversationTable {
  /** dm_<userId>_<userId> (directConversationId) or a group's UUID. */
  id: string
  kind: ConversationKind
  title: string | null
  created_at: Date
}

export type ConversationRow = Selectable<ConversationTable>
export type NewConversationRow = Insertable<ConversationTable>
