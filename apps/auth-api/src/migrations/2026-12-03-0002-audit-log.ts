import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// The audit log, the disabled flag an admin sets, and the client address of
// each session.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await db.schema.alterTable('users')
    .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await db.schema.alterTable('sessions').addColumn('ip', 'text').execute()

  // No foreign keys: an entry outlives the user it is about (a deletion is
  // itself an entry) and the actor who made it.
  await db.schema.createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'uuid')
    .addColumn('user_id', 'uuid')
    .addColumn('ip', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute()
  await db.schema.createIndex('audit_log_user').on('audit_log').columns(['user_id', 'id']).execute()

  // Append-only, whatever the application does: a row is never changed or
  // removed, even by a bug or a stolen connection of auth-api's own role.
  await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
    begin raise exception 'audit_log is append-only'; end $$`.execute(db)
  await sql`create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only()`.execute(db)
  await sql`create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('audit_log').execute()
  await sql`drop function audit_log_append_only()`.execute(db)
  await db.schema.alterTable('sessions').dropColumn('ip').execute()
  await db.schema.alterTable('users').dropColumn('disabled').execute()
}
