import { sql, type Kysely } from 'kysely'
import type { ChatDatabase } from './database.js'

/** Moves the user's read cursor forward to `seq`; a lower seq changes nothing. */
export async function advanceReadCursor (db: Kysely<ChatDatabase>, cursor: { conversationId: string, userId: string, seq: number }): Promise<void> {
  await db.insertInto('read_cursors')
    .values({ conversation_id: cursor.conversationId, user_id: cursor.userId, seq: cursor.seq })
    .onConflict((oc) => oc.columns(['conversation_id', 'user_id']).doUpdateSet({
      seq: sql<number>`excluded.seq`,
      updated_at: sql<Date>`now()`
    }).where('read_cursors.seq', '<', sql<number>`excluded.seq`))
    .execute()
}

export async function findReadCursor (db: Kysely<ChatDatabase>, conversationId: string, userId: string): Promise<number | undefined> {
  const row = await db.selectFrom('read_cursors').select('seq')
    .where('conversation_id', '=', conversationId).where('user_id', '=', userId)
    .executeTakeFirst()
  return row?.seq
}
