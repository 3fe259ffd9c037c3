import { NotFound } from '@metadome/service'
import { findUserById, lockUserById } from '../db/user.repository.js'
import { issueAccountToken, spendAccountToken } from '../db/account-token.repository.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import { InvalidAccountToken, NoEmail } from '../errors.js'
import type { AccountsContext } from './accounts-context.js'
import { linkTo, verifyEmailMail } from './mail.js'

export const VERIFY_EMAIL_TTL_SECONDS = 24 * 3600

/**
 * Mails the signed-in user a link proving their current address. The token
 * is bound to that address: after a change of address the link proves
 * nothing. The mail goes out after the answer.
 */
export async function requestEmailVerification (ctx: AccountsContext, userId: string, ip: string | undefined): Promise<void> {
  const user = await findUserById(ctx.db, userId)
  if (user === undefined) throw new NotFound('no such user')
  if (user.email === null) throw new NoEmail()
  const email = user.email
  const token = await ctx.db.transaction().execute(async (trx) => {
    const token = await issueAccountToken(trx, user.id, 'verify_email', VERIFY_EMAIL_TTL_SECONDS, email)
    await insertAuditEntry(trx, { action: 'email.verification_requested', actorId: user.id, userId: user.id, ip: ip ?? null })
    return token
  })
  const mail = verifyEmailMail(email, user.username, linkTo(ctx.publicUrl, '/verify-email', token))
  ctx.background.run('verification mail', async () => { await ctx.mail.send(mail) })
}

/** Spends a verification token: the address it was mailed to is proven, if it is still the user's. */
export async function verifyEmail (ctx: AccountsContext, token: string, ip: string | undefined): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const row = await spendAccountToken(trx, token, 'verify_email')
    if (row === undefined) throw new InvalidAccountToken()
    const user = await lockUserById(trx, row.user_id)
    if (user?.email == null || row.email === null || user.email.toLowerCase() !== row.email.toLowerCase()) throw new InvalidAccountToken()
    await trx.updateTable('users').set({ email_verified: true }).where('id', '=', user.id).execute()
    await insertAuditEntry(trx, { action: 'email.verified', actorId: user.id, userId: user.id, ip: ip ?? null })
  })
}
