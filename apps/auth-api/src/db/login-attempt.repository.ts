import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import type { AuthDatabase } from './database.js'
import { clientAddressKey } from '../lib/client-address.js'

/**
 * Sign-in throttling: wrong passwords, at login and as currentPassword
 * (services/current-password.ts), in two counts kept in PostgreSQL, so every
 * replica adds to and reads the same ones.
 *
 * - Per account and client address (login_attempts_by_address): FREE_FAILURES
 *   free, then 1 s, 2 s, 4 s … up to MAX_DELAY_S between attempts. This is
 *   the count that stops a guesser, and it holds only the address that
 *   guesses: an attacker cannot keep the owner out from another one. An
 *   IPv6 address counts by its /64 (lib/client-address.ts), and the address
 *   is request.ip, which trusts X-Forwarded-For only from TRUST_PROXY.
 * - Per account, whatever the address (login_attempts): ACCOUNT_FREE_FAILURES
 *   free, then waits of at most ACCOUNT_MAX_DELAY_S. It bounds what many
 *   addresses together may try (about one guess a minute once reached) and
 *   only ever slows. An address the account signed in from within KNOWN_FOR
 *   is not held by it, so even a botnet that never stops cannot keep the
 *   owner off the devices they use; a new address waits a minute at most.
 *
 * Both are charged before the password is checked, in one transaction of
 * atomic upserts, unless a count is in its waiting time: then nothing is
 * counted (the address's charge is rolled back) and the caller refuses
 * without checking. Counting first is what stops parallel guesses: the sixth
 * of twenty simultaneous wrong passwords already finds the address waiting.
 * The transactions lock the address's row, then the account's, always in
 * that order, so they never deadlock.
 *
 * A right password (recordSuccess) clears the address's count and remembers
 * the address. Of the account's count it takes back only its own charge; the
 * rest decays by itself (an hour without a failure forgets it): if the
 * owner's sign-in cleared it, each sign-in would hand a botnet a fresh batch
 * of free guesses.
 */
export const FREE_FAILURES = 5
export const MAX_DELAY_S = 15 * 60
export const ACCOUNT_FREE_FAILURES = 50
export const ACCOUNT_MAX_DELAY_S = 60
/** A day without a failure from an address forgets the earlier ones. */
const FORGET_AFTER = sql`interval '1 day'`
/** An hour without a failure on the account, from any address, forgets its count. */
const ACCOUNT_FORGET_AFTER = sql`interval '1 hour'`
/** How long a right password makes an address known to the account. */
const KNOWN_FOR = sql`interval '90 days'`

/** Allowed (and whether the account's count was charged too, for recordSuccess), or refused. */
export type Charge = { allowed: true, accountCharged: boolean } | { allowed: false, retryAfterSeconds: number }

/** The failure count after one more: 1 again if the last failure is long enough ago. */
const failuresAfter = (forget: RawBuilder<unknown>) =>
  sql<number>`case when a.last_failure_at is null or a.last_failure_at < now() - ${forget} then 1 else a.failures + 1 end`

/** The wait after `f` failures: none while free, then doubling, at most maxDelayS. */
const lockFor = (f: RawBuilder<number>, free: number, maxDelayS: number) => sql<Date | null>`case when ${f} >= ${sql.lit(free)}
  then now() + least(${sql.lit(maxDelayS)}, power(2, least(${f} - ${sql.lit(free)}, 30))) * interval '1 second'
  else null end`

const stillWaiting = sql`a.locked_until is not null and a.locked_until > now()`

/** Seconds left of a row's wait, at least 1. */
const waitOf = (rows: Array<{ wait: number | string | null }>): number => Math.max(1, Number(rows[0]?.wait ?? 1))

/** Thrown inside the charging transaction to roll it back. */
class Held extends Error {
  constructor (readonly retryAfterSeconds: number) { super('held') }
}

/** One failure for the address, unless it is waiting; whether the account knows the address. */
async function chargeAddress (trx: Transaction<AuthDatabase>, usernameKey: string, address: string): Promise<{ known: boolean }> {
  const failures = failuresAfter(FORGET_AFTER)
  const charged = await sql<{ known: boolean }>`
    insert into login_attempts_by_address as a (username_key, client_address, failures, locked_until, last_failure_at)
    values (${usernameKey}, ${address}, 1, ${lockFor(sql<number>`1`, FREE_FAILURES, MAX_DELAY_S)}, now())
    on conflict (username_key, client_address) do update set
      failures = ${failures},
      locked_until = ${lockFor(failures, FREE_FAILURES, MAX_DELAY_S)},
      last_failure_at = now()
    where not (${stillWaiting})
    returning coalesce(a.signed_in_at > now() - ${KNOWN_FOR}, false) as known`.execute(trx)
  const row = charged.rows[0]
  if (row !== undefined) return row
  throw new Held(waitOf((await sql<{ wait: number }>`
    select ceil(extract(epoch from locked_until - now())) as wait from login_attempts_by_address
    where username_key = ${usernameKey} and client_address = ${address}`.execute(trx)).rows))
}

/** One failure for the account, unless it is waiting. */
async function chargeAccount (trx: Transaction<AuthDatabase>, usernameKey: string): Promise<void> {
  const failures = failuresAfter(ACCOUNT_FORGET_AFTER)
  const charged = await sql`
    insert into login_attempts as a (username_key, failures, locked_until, last_failure_at)
    values (${usernameKey}, 1, ${lockFor(sql<number>`1`, ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY_S)}, now())
    on conflict (username_key) do update set
      failures = ${failures},
      locked_until = ${lockFor(failures, ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY_S)},
      last_failure_at = now()
    where not (${stillWaiting})
    returning 1`.execute(trx)
  if (charged.rows.length > 0) return
  throw new Held(waitOf((await sql<{ wait: number }>`
    select ceil(extract(epoch from locked_until - now())) as wait from login_attempts where username_key = ${usernameKey}`.execute(trx)).rows))
}

/**
 * Counts a password attempt for `usernameKey` from `ip` as a failure before
 * the password is checked, or refuses it (nothing counted) while the address
 * or, for an address the account does not know, the account is waiting.
 */
export async function chargeAttempt (db: Kysely<AuthDatabase>, usernameKey: string, ip: string | undefined): Promise<Charge> {
  const address = clientAddressKey(ip)
  try {
    return await db.transaction().execute(async (trx) => {
      const { known } = await chargeAddress(trx, usernameKey, address)
      if (!known) await chargeAccount(trx, usernameKey)
      return { allowed: true, accountCharged: !known }
    })
  } catch (err) {
    if (err instanceof Held) return { allowed: false, retryAfterSeconds: err.retryAfterSeconds }
    throw err
  }
}

/**
 * The right password from `ip`, after `charge`: the address's count is
 * cleared and the address known to the account; the account's count loses
 * the failure this attempt was charged (its row goes at none).
 */
export async function recordSuccess (db: Kysely<AuthDatabase>, usernameKey: string, ip: string | undefined, charge: { accountCharged: boolean }): Promise<void> {
  // In charging's order (the address's row, then the account's): no deadlock.
  await db.transaction().execute(async (trx) => {
    const signedIn = { failures: 0, locked_until: null, last_failure_at: null, signed_in_at: sql<Date>`now()` }
    await trx.insertInto('login_attempts_by_address')
      .values({ username_key: usernameKey, client_address: clientAddressKey(ip), ...signedIn })
      .onConflict((oc) => oc.columns(['username_key', 'client_address']).doUpdateSet(signedIn))
      .execute()
    if (!charge.accountCharged) return
    await trx.updateTable('login_attempts').set((eb) => ({ failures: eb('failures', '-', 1) })).where('username_key', '=', usernameKey).execute()
    await trx.deleteFrom('login_attempts').where('username_key', '=', usernameKey).where('failures', '<=', 0).execute()
  })
}

/** Counts that time has made moot: forgotten failures, ended waits, addresses no longer known. */
export async function pruneAttempts (db: Kysely<AuthDatabase>): Promise<void> {
  await db.deleteFrom('login_attempts')
    .where('last_failure_at', '<', sql<Date>`now() - ${ACCOUNT_FORGET_AFTER}`)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`now()`)]))
    .execute()
  await db.deleteFrom('login_attempts_by_address')
    .where((eb) => eb.or([eb('last_failure_at', 'is', null), eb('last_failure_at', '<', sql<Date>`now() - ${FORGET_AFTER}`)]))
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`now()`)]))
    .where((eb) => eb.or([eb('signed_in_at', 'is', null), eb('signed_in_at', '<', sql<Date>`now() - ${KNOWN_FOR}`)]))
    .execute()
}
