import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// One-time tokens (mailed links for email verification and password reset,
// the mfaToken between the two steps of an MFA sign-in), and whether the
// user's email address was proven.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await db.schema.alterTable('users')
    .addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()

  // Only a SHA-256 of each token is kept (256 random bits: no need for a slow
  // hash). A token is deleted when used, and a newer one of the same purpose
  // replaces it: at most one is alive per user and purpose.
  await db.schema.createTable('account_tokens')
    .addColumn('token_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('verify_email', 'reset_password', 'mfa_login')`))
    // verify_email: the address it proves; a change of address makes it moot.
    .addColumn('email', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('account_tokens_user').on('account_tokens').columns(['user_id', 'purpose']).execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('account_tokens').execute()
  await db.schema.alterTable('users').dropColumn('email_verified').execute()
}
