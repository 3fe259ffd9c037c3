import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// groups.authorize counts a user's creations and additions of the last hour
// (GROUP_CREATIONS_PER_HOUR, GROUP_ADDITIONS_PER_HOUR): one index range scan.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await sql`create index if not exists conversation_events_actor_type_at on conversation_events (actor_id, type, at)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await sql`drop index if exists conversation_events_actor_type_at`.execute(db)
}
