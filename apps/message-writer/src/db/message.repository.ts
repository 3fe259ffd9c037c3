import { sql, type Kysely } from 'kysely'
import { CHAT_SCHEMA, type ChatDatabase } from './database.js'
import type { MessageRow } from './message.table.js'

export interface MessageToStore {
  seq: number
  /** The message as published to CHAT: a StreamMessage (id, conversationId, senderId, sentAt, body) as JSON, already validated. */
  json: string
}

/**
 * Inserts messages, skipping any whose id is already stored (a redelivery),
 * and returns the seqs of those it inserted. One statement whatever the batch
 * size: the payloads travel as they were published, spliced with their seq
 * into one JSON array that PostgreSQL expands with jsonb_to_recordset, so no
 * body is serialized again and there are no bind parameters per row.
 */
export async function insertMessages (db: Kysely<ChatDatabase>, messages: MessageToStore[]): Promise<number[]> {
  if (messages.length === 0) return []
  let rows = '['
  for (const m of messages) rows += `${rows.length === 1 ? '' : ','}{"seq":${m.seq},${m.json.slice(m.json.indexOf('{') + 1)}`
  rows += ']'
  // Raw SQL does not get the schema of db.withSchema(), so it is named here.
  const result = await sql<{ seq: number }>`
    insert into ${sql.table(`${CHAT_SCHEMA}.messages`)} (id, seq, conversation_id, sender_id, sent_at, body)
    select r.id, r.seq, r."conversationId", r."senderId", r."sentAt", r.body
    from jsonb_to_recordset(${rows}::jsonb)
      as r(id uuid, seq bigint, "conversationId" text, "senderId" uuid, "sentAt" timestamptz, body jsonb)
    order by r.seq
    on conflict (id) do nothing
    returning seq`.execute(db)
  return result.rows.map((r) => r.seq)
}

/** Whether a message with this id is stored. */
export async function messageExists (db: Kysely<ChatDatabase>, id: string): Promise<boolean> {
  return (await db.selectFrom('messages').select('seq').where('id', '=', id).executeTakeFirst()) !== undefined
}

/** Which of these message ids are stored. */
export async function storedMessageIds (db: Kysely<ChatDatabase>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.selectFrom('messages').select('id').where('id', 'in', ids).execute()
  return new Set(rows.map((r) => r.id))
}

export interface SeqWindow {
  /** The member sees seq > joinedSeq... */
  joinedSeq: number
  /** ...and seq <= leftSeq, if they left. */
  leftSeq: number | null
}

/** One page of a conversation, newest first; `limit + 1` rows tell the caller whether there is more. */
export async function historyPage (
  db: Kysely<ChatDatabase>,
  query: { conversationId: string, before: number | undefined, limit: number } & SeqWindow
): Promise<MessageRow[]> {
  let q = db.selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', query.conversationId)
    .where('seq', '>', query.joinedSeq)
  if (query.before !== undefined) q = q.where('seq', '<', query.before)
  if (query.leftSeq !== null) q = q.where('seq', '<=', query.leftSeq)
  return await q.orderBy('seq', 'desc').limit(query.limit + 1).execute()
}

/**
 * Messages with after < seq <= through in every conversation the user is or
 * was a member of (within their membership window), ascending; `limit + 1`
 * rows tell the caller whether there is more.
 */
export async function messagesSince (
  db: Kysely<ChatDatabase>,
  query: { userId: string, after: number, through: number, limit: number }
): Promise<MessageRow[]> {
  if (query.through <= query.after) return []
  return await db.selectFrom('members as mb')
    .innerJoin('messages as m', 'm.conversation_id', 'mb.conversation_id')
    .selectAll('m')
    .where('mb.user_id', '=', query.userId)
    .where('m.seq', '>', query.after)
    .where('m.seq', '<=', query.through)
    .whereRef('m.seq', '>', 'mb.joined_seq')
    .where((eb) => eb.or([eb('mb.left_seq', 'is', null), eb('m.seq', '<=', eb.ref('mb.left_seq'))]))
    .orderBy('m.seq')
    .limit(query.limit + 1)
    .execute()
}
