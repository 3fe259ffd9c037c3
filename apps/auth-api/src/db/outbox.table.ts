import type { ColumnType, Generated, Selectable } from 'kysely'
import type { UserEvent } from '@metadome/contracts'

export interface OutboxTable {
  seq: Generated<number>
  /** The event id, and the Nats-Msg-Id it is published with. */
  id: string
  type: UserEvent['type']
  payload: ColumnType<UserEvent, string, never>
  occurred_at: ColumnType<Date, Date, never>
  published_at: ColumnType<Date | null, never, Date>
}

export type OutboxRow = Selectable<OutboxTable>

export interface OutboxRelayLockTable {
  id: number
}
