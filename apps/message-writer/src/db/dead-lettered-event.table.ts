import type { Insertable, Selectable } from 'kysely'

/**
 * A CHAT entry on a group's event subject that the writer dead-lettered
 * (refused, or not a valid event): settled without being applied, so the
 * group's later messages need not wait for it.
 */
export interface DeadLetteredEventTable {
  seq: number
  /** The conversation its subject names (the payload may name none). */
  conversation_id: string
  /** The dead letter's category. */
  category: string
}

export type DeadLetteredEventRow = Selectable<DeadLetteredEventTable>
export type NewDeadLetteredEventRow = Insertable<DeadLetteredEventTable>
