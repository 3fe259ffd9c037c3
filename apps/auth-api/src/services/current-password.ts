import type { Kysely } from 'kysely'
import type { AuthDatabase } from '../db/database.js'
import type { UserRow } from '../db/user.table.js'
import { chargeAttempt, recordSuccess } from '../db/login-attempt.repository.js'
import { TooManyAttempts, WrongCurrentPassword } from '../errors.js'
import type { Passwords } from '../plugins/app/passwords.js'

export interface PasswordCheckContext {
  db: Kysely<AuthDatabase>
  passwords: Passwords
}

/**
 * currentPassword, which a stolen access token could otherwise guess without
 * end (a new password, the account's deletion, a new account key all ask for
 * it), goes through the sign-in count, under the account's username and the
 * caller's address: wrong ones here and wrong sign-ins add up, and it is
 * refused unchecked (429 too_many_attempts) while that count waits.
 */
export async function checkCurrentPassword (ctx: PasswordCheckContext, user: UserRow | undefined, currentPassword: string, ip: string | undefined): Promise<void> {
  if (user === undefined) {
    await ctx.passwords.verify(currentPassword, undefined)
    throw new WrongCurrentPassword()
  }
  const key = user.username.toLowerCase()
  const charge = await chargeAttempt(ctx.db, key, ip)
  if (!charge.allowed) throw new TooManyAttempts(charge.retryAfterSeconds)
  if (!await ctx.passwords.verify(currentPassword, user.password_hash)) throw new WrongCurrentPassword()
  await recordSuccess(ctx.db, key, ip, charge)
}
