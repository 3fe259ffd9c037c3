import type { ColumnType, Generated, Selectable } from 'kysely'
import type { AuditAction, AuditDetails } from '@metadome/contracts'

/** Append-only (a trigger refuses updates and deletes): see the 2026-12-03-0002 migration. */
export interface AuditLogTable {
  /** bigserial, read as a number (libs/db parses int8): exact far beyond any count of entries. */
  id: Generated<number>
  occurred_at: ColumnType<Date, never, never>
  action: AuditAction
  actor_id: string | null
  user_id: string | null
  ip: string | null
  details: ColumnType<AuditDetails, string, never>
}

export type AuditLogRow = Selectable<AuditLogTable>
