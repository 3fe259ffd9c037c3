import type { Insertable, Selectable } from 'kysely'

export interface MessageTable {
  /** Chosen by the sender; redelivery of the same id never stores a second row. */
  id: string
  /** CHAT stream sequence. */
  seq: number
  conversation_id: string
  sender_id: string
  sent_at: Date
  /** Opaque to the server (an end-to-end encrypted envelope). */
  body: Record<string, unknown>
}

export type MessageRow = Selectable<MessageTable>
export type NewMessageRow = Insertable<MessageTable>
