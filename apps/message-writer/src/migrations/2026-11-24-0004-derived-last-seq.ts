import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Measured on the writer's hot path (500-row batches over many
// conversations): the foreign key from messages to conversations cost a row
// lock per inserted message and made inserts 2.6 times slower, and raising
// conversations.last_seq meant one more row update per message whenever a
// batch spans many conversations (the common case at scale). The writer
// creates a conversation in the same transaction as its first message, so
// the key adds no safety; the newest seq of a conversation is one backward
// step in messages_conversation_seq, so it is derived when read instead.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await sql`alter table messages drop constraint if exists messages_conversation_id_fkey`.execute(db)
  await db.schema.alterTable('conversations').dropColumn('last_seq').execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.alterTable('conversations').addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute()
  await sql`update conversations c set last_seq = coalesce((select max(seq) from messages m where m.conversation_id = c.id), 0)`.execute(db)
  await sql`alter table messages add constraint messages_conversation_id_fkey foreign key (conversation_id) references conversations (id) on delete cascade`.execute(db)
}
