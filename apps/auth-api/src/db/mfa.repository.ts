import { sql, type Kysely, type Transaction } from 'kysely'
import type { AuthDatabase } from './database.js'

type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>

/** Accepts the code of `step` only if no code of this or a later step was: one statement, so two uses at once cannot both pass. */
export async function claimTotpStep (db: Db, userId: string, step: number): Promise<boolean> {
  const res = await db.updateTable('users').set({ totp_last_step: step })
    .where('id', '=', userId).where('totp_secret', 'is not', null)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst()
  return res.numUpdatedRows > 0n
}

export async function replaceRecoveryCodes (trx: Transaction<AuthDatabase>, userId: string, hashes: Buffer[]): Promise<void> {
  await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
  await trx.insertInto('recovery_codes').values(hashes.map((h) => ({ user_id: userId, code_hash: h }))).execute()
}

/** Spends one recovery code; false if it is not one of the user's (or was used). */
export async function spendRecoveryCode (db: Db, userId: string, hash: Buffer): Promise<boolean> {
  const row = await db.deleteFrom('recovery_codes').where('user_id', '=', userId).where('code_hash', '=', hash).returning('user_id').executeTakeFirst()
  return row !== undefined
}

export async function countRecoveryCodes (db: Db, userId: string): Promise<number> {
  const row = await db.selectFrom('recovery_codes').select(sql<number>`count(*)::int`.as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()
  return row.n
}
