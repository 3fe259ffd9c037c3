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

export interface ConversationWithMembers extends ConversationRow {
  /** Current members (not left), sorted. */
  members: string[]
  /** seq of the newest stored message, 0 if none. */
  last_seq: number
  /** Current members' roles. */
  roles: Record<string, MemberRow['role']>
  /** Current members' read cursors. */
  reads: Record<string, number>
}

export interface ConversationOfUser extends ConversationWithMembers {
  /** Messages from others after the user's read cursor (within their window). */
  unread: number
  /** The seq of the change that added the user (0 in a direct conversation): they see messages after it. */
  joined_seq: number
}

// Each a correlated subquery on the conversation `c`: the newest seq is one
// backward step in messages_conversation_seq.
const lastSeq = sql<number>`coalesce((select m.seq from ${sql.table(`${CHAT_SCHEMA}.messages`)} m where m.conversation_id = c.id order by m.seq desc limit 1), 0)`
const members = sql<string[]>`array(select cm.user_id::text from ${sql.table(`${CHAT_SCHEMA}.members`)} cm where cm.conversation_id = c.id and cm.left_seq is null order by cm.user_id)`

const roles = sql<Record<string, MemberRow['role']>>`(select coalesce(jsonb_object_agg(cm.user_id::text, cm.role), '{}'::jsonb) from ${sql.table(`${CHAT_SCHEMA}.members`)} cm where cm.conversation_id = c.id and cm.left_seq is null)`
const reads = sql<Record<string, number>>`(select coalesce(jsonb_object_agg(rc.user_id::text, rc.seq), '{}'::jsonb) from ${sql.table(`${CHAT_SCHEMA}.read_cursors`)} rc
  join ${sql.table(`${CHAT_SCHEMA}.members`)} cm on cm.conversation_id = rc.conversation_id and cm.user_id = rc.user_id and cm.left_seq is null
  where rc.conversation_id = c.id)`
// For the list, where `mb` is the caller's membership: from after their cursor (or their joining), others' messages.
const unread = sql<number>`(select count(*)::int from ${sql.table(`${CHAT_SCHEMA}.messages`)} m
  where m.conversation_id = c.id and m.sender_id <> mb.user_id
  and m.seq > greatest(mb.joined_seq, coalesce((select rc.seq from ${sql.table(`${CHAT_SCHEMA}.read_cursors`)} rc where rc.conversation_id = c.id and rc.user_id = mb.user_id), 0)))`

/** A position in the order of conversationsOf: the last conversation of the page before. */
export interface ConversationPosition { lastSeq: number, id: string }

/**
 * The conversations `userId` is a member of now, newest activity first (then
 * by id), with their unread counts: at most `limit` of those after `after`.
 * The ordering key is computed for all of the user's memberships, one index
 * step each; only the page is built in full.
 */
export async function conversationsOf (db: Kysely<ChatDatabase>, userId: string, page: { after?: ConversationPosition, limit: number }): Promise<ConversationOfUser[]> {
  const { after, limit } = page
  const keys = db.selectFrom('members as mb')
    .innerJoin('conversations as c', 'c.id', 'mb.conversation_id')
    .select(['c.id as id', lastSeq.as('last_seq')])
    .where('mb.user_id', '=', userId)
    .where('mb.left_seq', 'is', null)
  const pageKeys = db.selectFrom(keys.as('k'))
    .select(['k.id', 'k.last_seq'])
    .$if(after !== undefined, (q) => q.where((eb) => eb.or([
      eb('k.last_seq', '<', after?.lastSeq ?? 0),
      eb.and([eb('k.last_seq', '=', after?.lastSeq ?? 0), eb('k.id', '>', after?.id ?? '')])
    ])))
    .orderBy('k.last_seq', 'desc')
    .orderBy('k.id')
    .limit(limit)
  return await db.selectFrom(pageKeys.as('p'))
    .innerJoin('conversations as c', 'c.id', 'p.id')
    .innerJoin('members as mb', (j) => j.onRef('mb.conversation_id', '=', 'c.id').on('mb.user_id', '=', userId))
    .selectAll('c')
    .select([members.as('members'), 'p.last_seq as last_seq', roles.as('roles'), reads.as('reads'), unread.as('unread'), 'mb.joined_seq'])
    .orderBy('p.last_seq', 'desc')
    .orderBy('c.id')
    .execute()
}

export async function findConversation (db: Kysely<ChatDatabase>, id: string): Promise<ConversationWithMembers | undefined> {
  return await db.selectFrom('conversations as c')
    .selectAll('c')
    .select([members.as('members'), lastSeq.as('last_seq'), roles.as('roles'), reads.as('reads')])
    .where('c.id', '=', id)
    .executeTakeFirst()
}

/** The user's current memberships by conversation id, at most `limit` after `afterId`. */
export async function membershipsOf (db: Kysely<ChatDatabase>, userId: string, afterId: string | undefined, limit: number): Promise<Array<{ conversation_id: string, joined_seq: number }>> {
  return await db.selectFrom('members')
    .select(['conversation_id', 'joined_seq'])
    .where('user_id', '=', userId)
    .where('left_seq', 'is', null)
    .$if(afterId !== undefined, (q) => q.where('conversation_id', '>', afterId ?? ''))
    .orderBy('conversation_id')
    .limit(limit)
    .execute()
}

/**
 * membershipsOf for many users in one query: at most `limit` current
 * memberships per user, by conversation id (one range scan of members_user
 * each). Users with none have no rows.
 */
export async function membershipsOfUsers (db: Kysely<ChatDatabase>, userIds: string[], limit: number): Promise<Array<{ user_id: string, conversation_id: string, joined_seq: number }>> {
  if (userIds.length === 0) return []
  // Raw SQL does not get the schema of db.withSchema(), so it is named here.
  const result = await sql<{ user_id: string, conversation_id: string, joined_seq: number }>`
    select u.user_id, m.conversation_id, m.joined_seq
    from unnest(${userIds}::uuid[]) as u(user_id)
    cross join lateral (
      select conversation_id, joined_seq from ${sql.table(`${CHAT_SCHEMA}.members`)}
      where user_id = u.user_id and left_seq is null
      order by conversation_id
      limit ${limit}
    ) m`.execute(db)
  return result.rows
}

/** The user's membership row, current or past. */
export async function findMembership (db: Kysely<ChatDatabase>, conversationId: string, userId: string): Promise<MemberRow | undefined> {
  return await db.selectFrom('members').selectAll()
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
}
