import type { Kysely } from 'kysely'
import type { Conversation, ConversationEvent, GroupRole } from '@metadome/contracts'
import type { ChatDatabase } from './database.js'
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

/** Whether the event at `seq` (or with this id) was applied already: a redelivery. */
export async function eventApplied (db: Kysely<ChatDatabase>, seq: number, id: string): Promise<boolean> {
  const row = await db.selectFrom('conversation_events').select('seq').where((eb) => eb.or([eb('seq', '=', seq), eb('id', '=', id)])).executeTakeFirst()
  return row !== undefined
}

/** Writes the difference between `before` and `after` (the state after the event at `seq`), and records the event. */
export async function storeGroupEvent (db: Kysely<ChatDatabase>, event: ConversationEvent, seq: number, before: GroupState | undefined, after: GroupState): Promise<void> {
  const id = event.conversationId
  if (before === undefined) {
    await db.insertInto('conversations').values({ id, kind: 'group', title: after.title, created_at: new Date(after.createdAt) }).execute()
  } else if (before.title !== after.title) {
    await db.updateTable('conversations').set({ title: after.title }).where('id', '=', id).execute()
  }
  for (const [userId, m] of after.members) {
    const old = before?.members.get(userId)
    if (old === undefined) {
      // A former member who comes back gets a new window from now on.
      await db.insertInto('members').values({ conversation_id: id, user_id: userId, role: m.role, joined_seq: seq, left_seq: null })
        .onConflict((oc) => oc.columns(['conversation_id', 'user_id']).doUpdateSet({ role: m.role, joined_seq: seq, left_seq: null }))
        .execute()
    } else if (old.role !== m.role) {
      await db.updateTable('members').set({ role: m.role }).where('conversation_id', '=', id).where('user_id', '=', userId).execute()
    }
  }
  for (const userId of before?.members.keys() ?? []) {
    if (!after.members.has(userId)) {
      await db.updateTable('members').set({ left_seq: seq }).where('conversation_id', '=', id).where('user_id', '=', userId).execute()
    }
  }
  await db.insertInto('conversation_events')
    .values({ seq, id: event.id, conversation_id: id, type: event.type, actor_id: event.actorId, at: new Date(event.at) })
    .execute()
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
