import { sql, type Kysely } from 'kysely'
import type { AuthDatabase } from './database.js'

/** Failures allowed before any wait; then 1 s, 2 s, 4 s … up to MAX_DELAY_S between attempts. */
export const FREE_FAILURES = 5
export const MAX_DELAY_S = 15 * 60
/** A day without a failure forgets the earlier ones. */
const FORGET_AFTER = sql`interval '1 day'`

export type Charge = { allowed: true } | { allowed: false, retryAfterSeconds: number }

/**
 * Counts this attempt as a failure before the password is even checked, in
 * one atomic statement, unless the account is in its waiting time, in which
 * case nothing is counted and the caller must refuse without checking.
 * Counting first is what stops parallel guesses: the sixth of twenty
 * simultaneous wrong passwords already finds the account waiting. A right
 * password then clears the count (clearFailures). The wait doubles with each
 * failure but never exceeds MAX_DELAY_S: the owner is slowed, never shut out.
 */
export async function chargeAttempt (db: Kysely<AuthDatabase>, usernameKey: string): Promise<Charge> {
  const failures = sql<number>`case when a.last_failure_at < now() - ${FORGET_AFTER} then 1 else a.failures + 1 end`
  const free = sql.lit(FREE_FAILURES)
  const lockFor = (f: typeof failures) => sql<Date | null>`case when ${f} >= ${free}
    then now() + least(${sql.lit(MAX_DELAY_S)}, power(2, least(${f} - ${free}, 30))) * interval '1 second'
    else null end`
  const charged = await sql<{ failures: number }>`
    insert into login_attempts as a (username_key, failures, locked_until, last_failure_at)
    values (${usernameKey}, 1, ${lockFor(sql<number>`1`)}, now())
    on conflict (username_key) do update set
      failures = ${failures},
      locked_until = ${lockFor(failures)},
      last_failure_at = now()
    where a.locked_until is null or a.locked_until <= now()
    returning failures`.execute(db)
  if (charged.rows.length > 0) return { allowed: true }

  const row = await db.selectFrom('login_attempts')
    .select(sql<number>`ceil(extract(epoch from locked_until - now()))`.as('wait'))
    .where('username_key', '=', usernameKey).executeTakeFirst()
  return { allowed: false, retryAfterSeconds: Math.max(1, Number(row?.wait ?? 1)) }
}

export async function clearFailures (db: Kysely<AuthDatabase>, usernameKey: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('username_key', '=', usernameKey).execute()
}

/** Counts that a day without failures has made moot (see FORGET_AFTER). */
export async function pruneAttempts (db: Kysely<AuthDatabase>): Promise<void> {
  await db.deleteFrom('login_attempts')
    .where('last_failure_at', '<', sql<Date>`now() - ${FORGET_AFTER}`)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`now()`)]))
    .execute()
}
