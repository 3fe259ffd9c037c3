import type { Kysely } from 'kysely'
import type { ChatDatabase } from './database.js'

/** Whom `userId` blocked, oldest first, at most `limit`. */
export async function blocksOf (db: Kysely<ChatDatabase>, userId: string, limit: number): Promise<Array<{ blocked_id: string, created_at: Date }>> {
  return await db.selectFrom('blocks').select(['blocked_id', 'created_at'])
    .where('blocker_id', '=', userId)
    .orderBy('created_at').orderBy('blocked_id')
    .limit(limit)
    .execute()
}

export async function countBlocks (db: Kysely<ChatDatabase>, userId: string): Promise<number> {
  const row = await db.selectFrom('blocks').select((eb) => eb.fn.countAll<number>().as('n')).where('blocker_id', '=', userId).executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** Blocks (idempotent: blocking again keeps the first time). */
export async function addBlock (db: Kysely<ChatDatabase>, blockerId: string, blockedId: string): Promise<void> {
  await db.insertInto('blocks').values({ blocker_id: blockerId, blocked_id: blockedId })
    .onConflict((oc) => oc.columns(['blocker_id', 'blocked_id']).doNothing())
    .execute()
}

export async function removeBlock (db: Kysely<ChatDatabase>, blockerId: string, blockedId: string): Promise<void> {
  await db.deleteFrom('blocks').where('blocker_id', '=', blockerId).where('blocked_id', '=', blockedId).execute()
}

/** Those of `userIds` who blocked `actorId`. */
export async function blockersOf (db: Kysely<ChatDatabase>, actorId: string, userIds: string[]): Promise<string[]> {
  if (userIds.length === 0) return []
  const rows = await db.selectFrom('blocks').select('blocker_id')
    .where('blocked_id', '=', actorId)
    .where('blocker_id', 'in', userIds)
    .execute()
  return rows.map((r) => r.blocker_id)
}
