import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Sessions and their refresh tokens, the per-account login slow-down, the
// outbox of user events and the key directory, plus the indexes that user
// listing (keyset order and prefix search) needs.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  // Byte order ("C") so that ordering, keyset comparisons and LIKE 'prefix%'
  // all use these indexes whatever the database's default collation is.
  await db.schema.createIndex('users_username_order').on('users').expression(sql`lower(username) collate "C"`).execute()
  await db.schema.createIndex('users_display_name_prefix').on('users').expression(sql`lower(display_name) collate "C"`).execute()

  await db.schema.createTable('sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('user_agent', 'text')
    // Derives each refresh token's successor from it (HMAC), so that a second
    // refresh within the grace window can be given the same new token without
    // the token itself ever being stored.
    .addColumn('successor_key', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_reason', 'text')
    .execute()
  await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'created_at']).execute()

  // Only a SHA-256 of each refresh token is kept. A spent token remembers
  // when it was spent and the hash of its successor: within the grace window
  // the same successor is handed out again (two tabs refreshing at once);
  // after it, presenting it again revokes the session.
  await db.schema.createTable('refresh_tokens')
    .addColumn('token_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('session_id', 'uuid', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('spent_at', 'timestamptz')
    .addColumn('successor_hash', 'bytea')
    .execute()
  await db.schema.createIndex('refresh_tokens_session').on('refresh_tokens').column('session_id').execute()

  // Keyed by the lower-cased username asked for, whether or not it exists, so
  // the slow-down says nothing about which accounts exist.
  await db.schema.createTable('login_attempts')
    .addColumn('username_key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_failure_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // seq is the publication order; writers take a transaction-level advisory
  // lock before inserting, so seq order is also commit order.
  await db.schema.createTable('outbox')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'uuid', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('published_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('outbox_pending').on('outbox').column('seq').where(sql.ref('published_at'), 'is', null).execute()

  // One row: the relay that holds it (FOR UPDATE SKIP LOCKED) is the only
  // one publishing, so replicas never publish twice or out of order.
  await db.schema.createTable('outbox_relay_lock')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .execute()
  await db.insertInto('outbox_relay_lock').values({ id: 1 }).execute()

  await db.schema.createTable('device_lists')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('signed', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  for (const table of ['device_lists', 'outbox_relay_lock', 'outbox', 'login_attempts', 'refresh_tokens', 'sessions']) {
    await db.schema.dropTable(table).execute()
  }
  await db.schema.dropIndex('users_display_name_prefix').execute()
  await db.schema.dropIndex('users_username_order').execute()
}
