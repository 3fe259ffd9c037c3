import { sql, type Kysely } from 'kysely'
import type { Conversation, ConversationEvent, GroupRole } from '@metadome/contracts'
import { CHAT_SCHEMA, type ChatDatabase } from './database.js'
import type { GroupState } from '../writer/group-state.js'

/** The group's current state, or undefined; `lock` holds its row until the transaction ends (events of one group apply one at a time). */
export async function loadGroup (db: Kysely<ChatDatabase>, conversationId: string, lock = false): Promise<GroupState | undefined> {
  let q = db.selectFrom('conversations').select(['title', 'created_at']).where('id', '=', conversationId).where('kind', '=', 'group')
  if (lock) q = q.forUpdate()
  const row = await q.executeTakeFirst()
  if (row === undefined) return undefined
  const members = await db.selectFrom('members').select(['user_id', 'role', 'joined_seq'])
    .where('conversation_id', '=', conversationId).where('left_seq', 'is', null).execute()
  return {
    title: row.title ?? '',
    createdAt: row.created_at.toISOString(),
    members: new Map(members.map((m) => [m.user_id, { role: m.role, joinedSeq: Number(m.joined_seq) }]))
  }
}

/**
 * Whether the event at `seq` (or with this id) was settled already: applied,
 * or dead-lettered after its refusal (a redelivery after a crash before the
 * terminate, which must not be applied now on a later state).
 */
export async function eventApplied (db: Kysely<ChatDatabase>, seq: number, id: string): Promise<boolean> {
  const row = await db.selectFrom('conversation_events').select('seq').where((eb) => eb.or([eb('seq', '=', seq), eb('id', '=', id)]))
    .union(db.selectFrom('dead_lettered_events').select('seq').where('seq', '=', seq))
    .executeTakeFirst()
  return row !== undefined
}

/** Records an entry on a group's event subject as dead-lettered (idempotent). */
export async function recordDeadLetteredEvent (db: Kysely<ChatDatabase>, seq: number, conversationId: string, category: string): Promise<void> {
  await db.insertInto('dead_lettered_events').values({ seq, conversation_id: conversationId, category })
    .onConflict((oc) => oc.column('seq').doNothing())
    .execute()
}

/**
 * Writes the difference between `before` and `after` (the state after the
 * event at `seq`), and records the event. Each membership window is written
 * twice: in members (the current one, which reads use) and in member_periods
 * (every one, which the writer checks senders against).
 */
export async function storeGroupEvent (db: Kysely<ChatDatabase>, event: ConversationEvent, seq: number, before: GroupState | undefined, after: GroupState): Promise<void> {
  const id = event.conversationId
  if (before === undefined) {
    await db.insertInto('conversations').values({ id, kind: 'group', title: after.title, created_at: new Date(after.createdAt) }).execute()
  } else if (before.title !== after.title) {
    await db.updateTable('conversations').set({ title: after.title }).where('id', '=', id).execute()
  }
  const joined: string[] = []
  for (const [userId, m] of after.members) {
    const old = before?.members.get(userId)
    if (old === undefined) {
      joined.push(userId)
      // A former member who comes back gets a new window from now on.
      await db.insertInto('members').values({ conversation_id: id, user_id: userId, role: m.role, joined_seq: seq, left_seq: null })
        .onConflict((oc) => oc.columns(['conversation_id', 'user_id']).doUpdateSet({ role: m.role, joined_seq: seq, left_seq: null }))
        .execute()
    } else if (old.role !== m.role) {
      await db.updateTable('members').set({ role: m.role }).where('conversation_id', '=', id).where('user_id', '=', userId).execute()
    }
  }
  if (joined.length > 0) {
    await db.insertInto('member_periods').values(joined.map((userId) => ({ conversation_id: id, user_id: userId, joined_seq: seq, left_seq: null }))).execute()
  }
  const left = [...before?.members.keys() ?? []].filter((userId) => !after.members.has(userId))
  if (left.length > 0) {
    await db.updateTable('members').set({ left_seq: seq }).where('conversation_id', '=', id).where('user_id', 'in', left).execute()
    await db.updateTable('member_periods').set({ left_seq: seq })
      .where('conversation_id', '=', id).where('user_id', 'in', left).where('left_seq', 'is', null)
      .execute()
  }
  await db.insertInto('conversation_events')
    .values({ seq, id: event.id, conversation_id: id, type: event.type, actor_id: event.actorId, at: new Date(event.at) })
    .execute()
}

export interface GroupMessageToCheck {
  seq: number
  conversationId: string
  senderId: string
}

export interface MembershipAtSeq {
  seq: number
  conversationId: string
  /** Whether the sender's windows in member_periods cover the seq. */
  member: boolean
  /** Whether the group is stored. */
  found: boolean
  /** The highest seq of the group's event subject that is settled (applied or dead-lettered), 0 if none. */
  settledSeq: number
}

// The messages travel as one JSON array expanded by jsonb_to_recordset, as in
// insertMessages: one statement, no bind parameter per row. The group's
// facts are computed once per group, the membership once per message, each
// an index probe.
const periods = sql.table(`${CHAT_SCHEMA}.member_periods`)
const conversations = sql.table(`${CHAT_SCHEMA}.conversations`)
const appliedEvents = sql.table(`${CHAT_SCHEMA}.conversation_events`)
const deadEvents = sql.table(`${CHAT_SCHEMA}.dead_lettered_events`)

/** For each group message, what the writer knows of its sender's membership at its seq, in one statement. */
export async function membershipAt (db: Kysely<ChatDatabase>, messages: GroupMessageToCheck[]): Promise<MembershipAtSeq[]> {
  if (messages.length === 0) return []
  const rows = JSON.stringify(messages.map((m) => ({ seq: m.seq, conversation_id: m.conversationId, sender_id: m.senderId })))
  const result = await sql<MembershipAtSeq>`
    with r as (
      select * from jsonb_to_recordset(${rows}::jsonb) as r(seq bigint, conversation_id text, sender_id uuid)
    ), g as (
      select d.id,
        exists (select 1 from ${conversations} c where c.id = d.id and c.kind = 'group') as found,
        greatest(
          coalesce((select e.seq from ${appliedEvents} e where e.conversation_id = d.id order by e.seq desc limit 1), 0),
          coalesce((select x.seq from ${deadEvents} x where x.conversation_id = d.id order by x.seq desc limit 1), 0)
        ) as settled
      from (select distinct conversation_id as id from r) d
    )
    select r.seq, r.conversation_id as "conversationId", g.found, g.settled as "settledSeq",
      exists (
        select 1 from ${periods} p
        where p.conversation_id = r.conversation_id and p.user_id = r.sender_id
          and p.joined_seq < r.seq and (p.left_seq is null or r.seq < p.left_seq)
      ) as member
    from r join g on g.id = r.conversation_id`.execute(db)
  return result.rows
}

/** Newest message seq of a conversation. */
export async function lastMessageSeq (db: Kysely<ChatDatabase>, conversationId: string): Promise<number> {
  const row = await db.selectFrom('messages').select('seq').where('conversation_id', '=', conversationId).orderBy('seq', 'desc').limit(1).executeTakeFirst()
  return row === undefined ? 0 : Number(row.seq)
}

export function groupConversation (id: string, state: GroupState, lastSeq: number): Conversation {
  const members = [...state.members.keys()].sort()
  const roles: Record<string, GroupRole> = {}
  for (const userId of members) roles[userId] = (state.members.get(userId) as { role: GroupRole }).role
  return { id, kind: 'group', title: state.title, members, createdAt: state.createdAt, lastSeq, roles }
}

/** Users among `ids` that the projection does not know (never registered, or deleted). */
export async function unknownUsers (db: Kysely<ChatDatabase>, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db.selectFrom('users').select('id').where('id', 'in', ids).where('deleted_at', 'is', null).execute()
  const known = new Set(rows.map((r) => r.id))
  return ids.filter((id) => !known.has(id))
}

/** The ids of at most `limit` events of `type` the user was the actor of since `since` (the hourly limits of groups.authorize). */
export async function eventIdsBy (db: Kysely<ChatDatabase>, actorId: string, type: 'created' | 'member_added', since: Date, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('conversation_events')
    .select('id')
    .where('actor_id', '=', actorId)
    .where('type', '=', type)
    .where('at', '>', since)
    .limit(limit)
    .execute()
  return rows.map((r) => r.id)
}
