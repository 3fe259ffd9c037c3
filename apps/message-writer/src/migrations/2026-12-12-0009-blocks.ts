import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Who blocked whom (DESIGN.md "Limits against abuse"): a blocked user cannot
// message the user who blocked them, nor add them to a group. Written over
// RPC by the gateways, read by them (cached) and by groups.authorize.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await db.schema.createTable('blocks')
    .addColumn('blocker_id', 'uuid', (c) => c.notNull())
    .addColumn('blocked_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('blocks_pkey', ['blocker_id', 'blocked_id'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('blocks').execute()
}
