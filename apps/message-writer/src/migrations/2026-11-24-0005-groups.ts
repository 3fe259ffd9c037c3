import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Groups (issue 5): an owner role, and the membership events the writer
// applied, by CHAT seq, so that a redelivered event is recognised (and not
// applied, or refused, a second time) and membership has an audit trail.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await sql`alter table members drop constraint if exists members_role_check`.execute(db)
  await sql`alter table members add constraint members_role_check check (role in ('owner', 'admin', 'member'))`.execute(db)
  await db.schema.createTable('conversation_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'uuid', (c) => c.notNull().unique())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'uuid', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('conversation_events_conversation').on('conversation_events').columns(['conversation_id', 'seq']).execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('conversation_events').execute()
  await sql`alter table members drop constraint if exists members_role_check`.execute(db)
  await sql`alter table members add constraint members_role_check check (role in ('admin', 'member'))`.execute(db)
}
