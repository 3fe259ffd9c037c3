import type { Insertable, Selectable } from 'kysely'

/**
 * Every membership window a group member ever had: a member at seq S when
 * joined_seq < S and (left_seq is null or S < left_seq). Unlike members, a
 * window is never overwritten: a member added again gets a new row.
 */
export interface MemberPeriodTable {
  conversation_id: string
  user_id: string
  joined_seq: number
  left_seq: number | null
}

export type MemberPeriodRow = Selectable<MemberPeriodTable>
export type NewMemberPeriodRow = Insertable<MemberPeriodTable>
