import { createHash, randomBytes } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { AuthDatabase } from './database.js'
import type { AccountTokenPurpose, AccountTokenRow } from './account-token.table.js'

type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>

const hashOf = (token: string): Buffer => createHash('sha256').update(token).digest()

/**
 * A new one-time token for `purpose`: 256 random bits, of which only a
 * SHA-256 is stored. It replaces any earlier one of the user for the same
 * purpose, so only the newest link works.
 */
export async function issueAccountToken (db: Db, userId: string, purpose: AccountTokenPurpose, ttlSeconds: number, email: string | null = null): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  await db.deleteFrom('account_tokens').where('user_id', '=', userId).where('purpose', '=', purpose).execute()
  await db.insertInto('account_tokens').values({
    token_hash: hashOf(token),
    user_id: userId,
    purpose,
    email,
    expires_at: sql<Date>`now() + make_interval(secs => ${ttlSeconds})`
  }).execute()
  return token
}

/** The live token's row, without spending it. */
export async function findAccountToken (db: Db, token: string, purpose: AccountTokenPurpose): Promise<AccountTokenRow | undefined> {
  return await db.selectFrom('account_tokens').selectAll()
    .where('token_hash', '=', hashOf(token)).where('purpose', '=', purpose).where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
}

/** Spends the token, in one statement: of two requests presenting it at once, one gets the row. */
export async function spendAccountToken (db: Db, token: string, purpose: AccountTokenPurpose): Promise<AccountTokenRow | undefined> {
  return await db.deleteFrom('account_tokens')
    .where('token_hash', '=', hashOf(token)).where('purpose', '=', purpose).where('expires_at', '>', sql<Date>`now()`)
    .returningAll().executeTakeFirst()
}

export async function deleteAccountTokens (db: Db, userId: string, purpose: AccountTokenPurpose): Promise<void> {
  await db.deleteFrom('account_tokens').where('user_id', '=', userId).where('purpose', '=', purpose).execute()
}

export async function pruneAccountTokens (db: Kysely<AuthDatabase>): Promise<void> {
  await db.deleteFrom('account_tokens').where('expires_at', '<', sql<Date>`now()`).execute()
}
