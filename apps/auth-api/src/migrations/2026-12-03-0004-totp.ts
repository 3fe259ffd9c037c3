import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// TOTP as a second factor, and its single-use recovery codes.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await db.schema.alterTable('users')
    // base32. The server must compute codes from it, so it cannot be hashed.
    .addColumn('totp_secret', 'text')
    // Enrolled but not yet confirmed with a first code: not asked at sign-in.
    .addColumn('totp_pending_secret', 'text')
    // The last time step whose code was accepted: a code works once.
    .addColumn('totp_last_step', 'bigint')
    .execute()

  // SHA-256 of each code (50 random bits each, single use, only ten: a slow
  // hash would add nothing an attacker could not get around by throttling).
  await db.schema.createTable('recovery_codes')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('recovery_codes_pkey', ['user_id', 'code_hash'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('recovery_codes').execute()
  await db.schema.alterTable('users').dropColumn('totp_secret').dropColumn('totp_pending_secret').dropColumn('totp_last_step').execute()
}
