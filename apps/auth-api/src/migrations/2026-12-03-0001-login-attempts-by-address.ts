import type { Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Sign-in failures (wrong passwords at login and as currentPassword) counted
// per account and client address, so that guesses slow the address that sends
// them instead of every device of the account. login_attempts stays, as the
// looser count per account whatever the address; rows it holds from before
// keep their wait until it ends. A row here also remembers when the account
// last signed in from that address: such an address is not held by the
// per-account count.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  await db.schema.createTable('login_attempts_by_address')
    // lower(username) as asked for, existing or not, as in login_attempts.
    .addColumn('username_key', 'text', (c) => c.notNull())
    // An IPv4 address, or the /64 of an IPv6 one.
    .addColumn('client_address', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_failure_at', 'timestamptz')
    .addColumn('signed_in_at', 'timestamptz')
    .addPrimaryKeyConstraint('login_attempts_by_address_pkey', ['username_key', 'client_address'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('login_attempts_by_address').execute()
}
