import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Measured on the writer's hot path: every index on messages costs each
// inserted row a B-tree insertion, and the unique index on seq alone served
// no query (history, since-queries and the newest seq all range over
// (conversation_id, seq); idempotency is the primary key on id). A stream
// sequence is one message, which always has the same id, so the primary key
// already makes a stored seq unique.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await sql`alter table messages drop constraint if exists messages_seq_key`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await sql`alter table messages add constraint messages_seq_key unique (seq)`.execute(db)
}
