import { sql, type Kysely } from 'kysely'
import { CHAT_SCHEMA, type ChatDatabase } from './database.js'
import type { ConversationRow } from './conversation.table.js'
import type { MemberRow } from './member.table.js'

export interface NewDirectConversation {
  id: string
  /** When its first message was sent. */
  createdAt: string
  members: string[]
}

/** Creates direct conversations and their two members unless they exist. */
export async function ensureDirectConversations (db: Kysely<ChatDatabase>, conversations: NewDirectConversation[]): Promise<void> {
  if (conversations.length === 0) return
  await db.insertInto('conversations')
    .values(conversations.map((c) => ({ id: c.id, kind: 'direct' as const, title: null, created_at: new Date(c.createdAt) })))
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  await db.insertInto('members')
    .values(conversations.flatMap((c) => c.members.map((userId) => ({ conversation_id: c.id, user_id: userId, left_seq: null }))))
    .onConflict((oc) => oc.columns(['conversation_id', 'user_id']).doNothing())
    .execute()
}

/** Which of `ids` exist. */
export async function existingConversationIds (db: Kysely<ChatDatabase>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.selectFrom('conversations').select('id').where('id', 'in', ids).execute()
  return new Set(rows.map((r) => r.id))
}

/**
 * Raises last_seq to the given seqs (never lowers it). Rows are updated in id
 * order so that two batches touching the same conversations lock them in the
 * same order.
 */
export async function raiseLastSeqs (db: Kysely<ChatDatabase>, lastSeqs: Array<{ conversationId: string, lastSeq: number }>): Promise<void> {
  if (lastSeqs.length === 0) return
  const sorted = [...lastSeqs].sort((a, b) => a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0)
  const rows = JSON.stringify(sorted.map((s) => ({ id: s.conversationId, last_seq: s.lastSeq })))
  await sql`
    update ${sql.table(`${CHAT_SCHEMA}.conversations`)} c set last_seq = u.last_seq
    from (select * from json_to_recordset(${rows}::json) as r(id text, last_seq bigint) order by r.id) u
    where c.id = u.id and c.last_seq < u.last_seq`.execute(db)
}

export interface ConversationWithMembers extends ConversationRow {
  /** Current members (not left), sorted. */
  members: string[]
}

/** The conversations `userId` is a member of now, newest activity first. */
export async function conversationsOf (db: Kysely<ChatDatabase>, userId: string): Promise<ConversationWithMembers[]> {
  const rows = await db.selectFrom('members as mb')
    .innerJoin('conversations as c', 'c.id', 'mb.conversation_id')
    .selectAll('c')
    .select((eb) => eb.selectFrom('members as cm')
      .select(sql<string[]>`coalesce(array_agg(cm.user_id::text order by cm.user_id), '{}')`.as('ids'))
      .whereRef('cm.conversation_id', '=', 'c.id')
      .where('cm.left_seq', 'is', null)
      .as('members'))
    .where('mb.user_id', '=', userId)
    .where('mb.left_seq', 'is', null)
    .orderBy('c.last_seq', 'desc')
    .orderBy('c.id')
    .execute()
  return rows.map((r) => ({ ...r, members: r.members ?? [] }))
}

export async function findConversation (db: Kysely<ChatDatabase>, id: string): Promise<ConversationWithMembers | undefined> {
  const row = await db.selectFrom('conversations as c')
    .selectAll('c')
    .select((eb) => eb.selectFrom('members as cm')
      .select(sql<string[]>`coalesce(array_agg(cm.user_id::text order by cm.user_id), '{}')`.as('ids'))
      .whereRef('cm.conversation_id', '=', 'c.id')
      .where('cm.left_seq', 'is', null)
      .as('members'))
    .where('c.id', '=', id)
    .executeTakeFirst()
  return row === undefined ? undefined : { ...row, members: row.members ?? [] }
}

/** The user's membership row, current or past. */
export async function findMembership (db: Kysely<ChatDatabase>, conversationId: string, userId: string): Promise<MemberRow | undefined> {
  return await db.selectFrom('members').selectAll()
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
}
