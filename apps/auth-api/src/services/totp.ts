import { createHash, randomBytes } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'
import { NotFound } from '@metadome/service'
import type { Kysely } from 'kysely'
import type { AuthDatabase } from '../db/database.js'
import type { UserRow } from '../db/user.table.js'
import { findUserById, lockUserById } from '../db/user.repository.js'
import { chargeAttempt, recordSuccess } from '../db/login-attempt.repository.js'
import { claimTotpStep, replaceRecoveryCodes, spendRecoveryCode } from '../db/mfa.repository.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import { MfaAlreadyEnabled, MfaNotEnabled, TooManyAttempts, WrongMfaCode } from '../errors.js'
import type { Passwords } from '../plugins/app/passwords.js'
import { checkCurrentPassword } from './current-password.js'

export interface MfaContext {
  db: Kysely<AuthDatabase>
  passwords: Passwords
}

const ISSUER = 'metadome'
const PERIOD = 30
/** A code of the step before or after the current one is accepted too (clocks drift; people type slowly). */
const WINDOW = 1
const RECOVERY_CODES = 10

const totpOf = (secret: string, label: string): TOTP =>
  new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) })

/** The time step `code` belongs to, if it is one of the window around now. */
function stepOf (secret: string, code: string): number | undefined {
  const timestamp = Date.now()
  const delta = totpOf(secret, '').validate({ token: code, timestamp, window: WINDOW })
  return delta === null ? undefined : TOTP.counter({ period: PERIOD, timestamp }) + delta
}

// Recovery codes: ten characters of a-z0-9 (about 50 bits), shown as
// xxxxx-xxxxx; typed in any case, with or without the dash.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'
const normalise = (code: string): string => code.replace(/-/g, '').toLowerCase()
const hashCode = (code: string): Buffer => createHash('sha256').update(normalise(code)).digest()
function newRecoveryCode (): string {
  const chars = [...randomBytes(10)].map((b) => ALPHABET[b % ALPHABET.length] ?? 'a').join('')
  return `${chars.slice(0, 5)}-${chars.slice(5)}`
}

export type SecondFactor = 'totp' | 'recovery_code'

/**
 * Checks a second factor: a TOTP code (of a step later than the last one
 * accepted: a code works once) or a recovery code (spent by the check).
 * Counted like passwords (db/login-attempt.repository.ts), per account and
 * client address, under a key of its own ("mfa:" and the user id, which no
 * username can be): a wrong code is a failure, a wait refuses unchecked.
 * Returns the kind of code, or undefined for a wrong one (audited).
 */
export async function checkSecondFactor (ctx: MfaContext, user: UserRow, code: string, ip: string | undefined): Promise<SecondFactor | undefined> {
  const key = `mfa:${user.id}`
  const charge = await chargeAttempt(ctx.db, key, ip)
  if (!charge.allowed) throw new TooManyAttempts(charge.retryAfterSeconds)
  let kind: SecondFactor | undefined
  if (/^[0-9]{6}$/.test(code)) {
    const step = user.totp_secret === null ? undefined : stepOf(user.totp_secret, code)
    if (step !== undefined && await claimTotpStep(ctx.db, user.id, step)) kind = 'totp'
  } else if (await spendRecoveryCode(ctx.db, user.id, hashCode(code))) {
    kind = 'recovery_code'
  }
  if (kind === undefined) {
    await insertAuditEntry(ctx.db, { action: 'mfa.failed', actorId: null, userId: user.id, ip: ip ?? null })
    return undefined
  }
  await recordSuccess(ctx.db, key, ip, charge)
  if (kind === 'recovery_code') await insertAuditEntry(ctx.db, { action: 'mfa.recovery_code_used', actorId: user.id, userId: user.id, ip: ip ?? null })
  return kind
}

async function signedInUser (ctx: MfaContext, userId: string): Promise<UserRow> {
  const user = await findUserById(ctx.db, userId)
  if (user === undefined) throw new NotFound('no such user')
  return user
}

/** A new secret, pending until a first code confirms it; the password proves it is the owner asking. */
export async function enrollTotp (ctx: MfaContext, userId: string, currentPassword: string, ip: string | undefined): Promise<{ secret: string, otpauthUrl: string }> {
  const user = await signedInUser(ctx, userId)
  await checkCurrentPassword(ctx, user, currentPassword, ip)
  if (user.totp_secret !== null) throw new MfaAlreadyEnabled()
  const secret = new Secret({ size: 20 }).base32
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ totp_pending_secret: secret }).where('id', '=', user.id).execute()
    await insertAuditEntry(trx, { action: 'mfa.totp_enrolled', actorId: user.id, userId: user.id, ip: ip ?? null })
  })
  return { secret, otpauthUrl: totpOf(secret, user.username).toString() }
}

/**
 * The first code from the app turns TOTP on; the recovery codes are made
 * now and shown this once (only their hashes are kept). That code's step
 * counts as used.
 */
export async function confirmTotp (ctx: MfaContext, userId: string, code: string, ip: string | undefined): Promise<string[]> {
  const user = await signedInUser(ctx, userId)
  if (user.totp_secret !== null) throw new MfaAlreadyEnabled()
  const pending = user.totp_pending_secret
  if (pending === null) throw new MfaNotEnabled('no TOTP enrolment to confirm: call enroll first')
  const key = `mfa:${user.id}`
  const charge = await chargeAttempt(ctx.db, key, ip)
  if (!charge.allowed) throw new TooManyAttempts(charge.retryAfterSeconds)
  const step = stepOf(pending, code)
  if (step === undefined) throw new WrongMfaCode()
  await recordSuccess(ctx.db, key, ip, charge)
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode)
  await ctx.db.transaction().execute(async (trx) => {
    const row = await lockUserById(trx, user.id)
    // Another confirmation (or a new enrolment) got there first.
    if (row?.totp_pending_secret !== pending || row.totp_secret !== null) throw new MfaAlreadyEnabled()
    await trx.updateTable('users').set({ totp_secret: pending, totp_pending_secret: null, totp_last_step: step }).where('id', '=', user.id).execute()
    await replaceRecoveryCodes(trx, user.id, codes.map(hashCode))
    await insertAuditEntry(trx, { action: 'mfa.totp_enabled', actorId: user.id, userId: user.id, ip: ip ?? null, details: { recoveryCodes: RECOVERY_CODES } })
  })
  return codes
}

/** Turning TOTP off takes both the password and a code (or a recovery code): a stolen session alone cannot. */
export async function disableTotp (ctx: MfaContext, userId: string, currentPassword: string, code: string, ip: string | undefined): Promise<void> {
  const user = await signedInUser(ctx, userId)
  await checkCurrentPassword(ctx, user, currentPassword, ip)
  if (user.totp_secret === null) throw new MfaNotEnabled('TOTP is not on for this account')
  if (await checkSecondFactor(ctx, user, code, ip) === undefined) throw new WrongMfaCode()
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ totp_secret: null, totp_pending_secret: null, totp_last_step: null }).where('id', '=', user.id).execute()
    await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute()
    await insertAuditEntry(trx, { action: 'mfa.totp_disabled', actorId: user.id, userId: user.id, ip: ip ?? null })
  })
}
