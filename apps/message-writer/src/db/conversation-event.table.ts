/** A group membership event the writer applied, by its CHAT seq. */
export interface ConversationEventTable {
  seq: number
  /** The event id (its Nats-Msg-Id). */
  id: string
  conversation_id: string
  type: string
  actor_id: string
  at: Date
}
