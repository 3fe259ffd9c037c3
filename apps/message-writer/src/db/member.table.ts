import type { ColumnType, Insertable, Selectable } from 'kysely'
import type { MemberRole } from '@metadome/contracts'

/** A membership: the user sees messages with joined_seq < seq <= left_seq (null: still a member). */
export interface MemberTable {
  conversation_id: string
  user_id: string
  role: ColumnType<MemberRole, MemberRole | undefined, MemberRole>
  joined_seq: ColumnType<number, number | undefined, number>
  left_seq: number | null
}

export type MemberRow = Selectable<MemberTable>
export type NewMemberRow = Insertable<MemberTable>
