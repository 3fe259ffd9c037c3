import { findUserById, findUserByUsername } from '../db/user.repository.js'
import { findAccountToken, issueAccountToken, spendAccountToken } from '../db/account-token.repository.js'
import { chargeAttempt, recordSuccess } from '../db/login-attempt.repository.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import type { UserRow } from '../db/user.table.js'
import { AccountDisabled, InvalidCredentials, InvalidMfaCode, InvalidMfaToken, MfaRequired, TooManyAttempts } from '../errors.js'
import { checkSecondFactor } from './totp.js'
import { startSession, type Issued, type SessionsContext } from './sessions.js'

export type LoginOutcome = 'success' | 'failure' | 'locked' | 'mfa_required'

/** A refused sign-in: the error to answer with, and the outcome to count. */
export class LoginRefused extends Error {
  constructor (readonly outcome: Exclude<LoginOutcome, 'success'>, readonly error: Error) {
    super(error.message)
  }
}

/** The request a sign-in came with: for the session's row and the audit log. */
export interface SignInFrom {
  userAgent: string | null
  ip: string | undefined
}

/** A failed sign-in, audited: the user if the account exists (never the name typed for an unknown one: it may be a password). */
export async function auditFailure (ctx: SessionsContext, user: UserRow | undefined, from: SignInFrom, reason: string): Promise<void> {
  await insertAuditEntry(ctx.db, { action: 'login.failed', actorId: null, userId: user?.id ?? null, ip: from.ip ?? null, details: { reason } })
}

/** What every sign-in checks once the user is known and proven: an admin may have disabled the account. */
export async function refuseDisabled (ctx: SessionsContext, user: UserRow, from: SignInFrom): Promise<void> {
  if (!user.disabled) return
  await auditFailure(ctx, user, from, 'disabled')
  throw new LoginRefused('failure', new AccountDisabled())
}

/**
 * Unknown user and wrong password take the same path (a bcrypt compare, with
 * a dummy hash when there is no user) and give the same 401. Both are counted
 * for the account and the client's address (db/login-attempt.repository.ts).
 * `secondFactor`, when given, decides whether the password is enough.
 */
export async function passwordLogin (
  ctx: SessionsContext,
  username: string,
  password: string,
  from: SignInFrom,
  secondFactor?: (user: UserRow) => Promise<void>
): Promise<Issued> {
  const key = username.toLowerCase()
  const charge = await chargeAttempt(ctx.db, key, from.ip)
  const user = await findUserByUsername(ctx.db, username)
  if (!charge.allowed) {
    await auditFailure(ctx, user, from, 'throttled')
    throw new LoginRefused('locked', new TooManyAttempts(charge.retryAfterSeconds))
  }
  const ok = await ctx.passwords.verify(password, user?.password_hash)
  if (!ok || user === undefined) {
    await auditFailure(ctx, user, from, user === undefined ? 'unknown_user' : 'wrong_password')
    throw new LoginRefused('failure', new InvalidCredentials())
  }
  await recordSuccess(ctx.db, key, from.ip, charge)
  await refuseDisabled(ctx, user, from)
  await secondFactor?.(user)
  return await startSession(ctx, user, { ...from, method: 'password' })
}

/** How long the second step of an MFA sign-in may wait. */
export const MFA_TOKEN_TTL_SECONDS = 5 * 60

/** passwordLogin's second factor when TOTP is on: no session yet, an mfaToken for the second step instead. */
export function totpStep (ctx: SessionsContext): (user: UserRow) => Promise<void> {
  return async (user) => {
    if (user.totp_secret === null) return
    const mfaToken = await issueAccountToken(ctx.db, user.id, 'mfa_login', MFA_TOKEN_TTL_SECONDS)
    throw new LoginRefused('mfa_required', new MfaRequired(mfaToken))
  }
}

/**
 * The second step: `{mfaToken, code}`. The token stays valid through wrong
 * codes (which count like wrong passwords, see checkSecondFactor) and is
 * spent, in the session's own transaction, by the right one.
 */
export async function mfaLogin (ctx: SessionsContext, mfaToken: string, code: string, from: SignInFrom): Promise<Issued> {
  const row = await findAccountToken(ctx.db, mfaToken, 'mfa_login')
  const user = row === undefined ? undefined : await findUserById(ctx.db, row.user_id)
  if (user === undefined) throw new LoginRefused('failure', new InvalidMfaToken())
  await refuseDisabled(ctx, user, from)
  let kind
  try {
    kind = await checkSecondFactor(ctx, user, code, from.ip)
  } catch (err) {
    if (err instanceof TooManyAttempts) throw new LoginRefused('locked', err)
    throw err
  }
  if (kind === undefined) throw new LoginRefused('failure', new InvalidMfaCode())
  return await startSession(ctx, user, { ...from, method: kind }, async (trx) => {
    if (await spendAccountToken(trx, mfaToken, 'mfa_login') === undefined) throw new LoginRefused('failure', new InvalidMfaToken())
  })
}
