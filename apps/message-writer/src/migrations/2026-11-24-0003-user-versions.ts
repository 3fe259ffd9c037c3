import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Several writer replicas apply USERS events concurrently, so an older event
// can arrive after a newer one. Each row remembers the USERS stream sequence
// it reflects and only a newer event changes it; a deleted user stays as a
// tombstone (no name kept) so that a late `updated` cannot bring it back.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await db.schema.alterTable('users')
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('deleted_at', 'timestamptz')
    .execute()
  await sql`alter table users alter column username drop not null, alter column display_name drop not null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await sql`delete from users where deleted_at is not null`.execute(db)
  await sql`alter table users alter column username set not null, alter column display_name set not null`.execute(db)
  await db.schema.alterTable('users').dropColumn('deleted_at').dropColumn('version').execute()
}
