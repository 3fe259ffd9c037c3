import { sql } from 'kysely'
import type { ForgotPasswordRequest } from '@metadome/contracts'
import { findUserById, findUserByUsername, lockUserById, updateUser } from '../db/user.repository.js'
import { deleteAccountTokens, findAccountToken, issueAccountToken, spendAccountToken } from '../db/account-token.repository.js'
import { revokeUserSessions } from '../db/session.repository.js'
import { appendEvent, appendSessionsRevoked } from '../db/outbox.repository.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import { AccountDisabled, InvalidAccountToken } from '../errors.js'
import type { AccountsContext } from './accounts-context.js'
import { linkTo, resetPasswordMail } from './mail.js'

export const RESET_PASSWORD_TTL_SECONDS = 30 * 60

/**
 * POST /v1/auth/password/forgot, after the answer: the route answers 202 at
 * once and this runs in the background, so neither the answer nor its
 * timing tells whether the account exists. An account that exists, has an
 * address and is not disabled gets a link valid 30 minutes, replacing any
 * earlier one; any other request sends nothing.
 */
export async function forgotPassword (ctx: AccountsContext, req: ForgotPasswordRequest, ip: string | undefined): Promise<void> {
  const user = 'username' in req
    ? await findUserByUsername(ctx.db, req.username)
    : await ctx.db.selectFrom('users').selectAll().where(sql`lower(email)`, '=', req.email.toLowerCase()).executeTakeFirst()
  if (user === undefined || user.email === null || user.disabled) return
  const email = user.email
  const token = await ctx.db.transaction().execute(async (trx) => {
    const token = await issueAccountToken(trx, user.id, 'reset_password', RESET_PASSWORD_TTL_SECONDS, email)
    await insertAuditEntry(trx, { action: 'password.reset_requested', actorId: null, userId: user.id, ip: ip ?? null })
    return token
  })
  await ctx.mail.send(resetPasswordMail(email, user.username, linkTo(ctx.publicUrl, '/reset-password', token)))
}

/**
 * A new password from a mailed link. The token is checked, the password
 * hashed, then the token spent and the password stored in one transaction
 * (a token presented twice at once works once). Every session ends, and the
 * gateways are told (sessions_revoked naming them, as for a password
 * change), so the account is the new password's holder's alone.
 */
export async function resetPassword (ctx: AccountsContext, token: string, password: string, ip: string | undefined): Promise<void> {
  const peek = await findAccountToken(ctx.db, token, 'reset_password')
  const target = peek === undefined ? undefined : await findUserById(ctx.db, peek.user_id)
  if (target === undefined) throw new InvalidAccountToken()
  ctx.passwords.checkPolicy(password, target.username)
  const hash = await ctx.passwords.hash(password)
  await ctx.db.transaction().execute(async (trx) => {
    const row = await spendAccountToken(trx, token, 'reset_password')
    const before = row === undefined ? undefined : await lockUserById(trx, row.user_id)
    if (row === undefined || before === undefined) throw new InvalidAccountToken()
    // A link asked for before an admin disabled the account (from a taken
    // mailbox, say) must not leave a password that works once it is enabled.
    // Thrown in the transaction: the link stays unspent for the owner.
    if (before.disabled) throw new AccountDisabled()
    // The link came to the user's mailbox: that proves the address too, if it is still theirs.
    const proven = before.email !== null && before.email.toLowerCase() === row.email?.toLowerCase()
    const user = await updateUser(trx, row.user_id, { password_hash: hash, ...(proven && { email_verified: true }) })
    const ended = await revokeUserSessions(trx, user.id, 'password_reset')
    await deleteAccountTokens(trx, user.id, 'mfa_login')
    await appendEvent(trx, 'updated', user)
    await appendSessionsRevoked(trx, user, ended)
    await insertAuditEntry(trx, { action: 'password.reset', actorId: null, userId: user.id, ip: ip ?? null, details: { sessionsEnded: ended.length } })
  })
  ctx.eventsWritten()
}
