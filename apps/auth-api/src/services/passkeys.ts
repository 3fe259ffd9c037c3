import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse
} from '@simplewebauthn/server'
import { NotFound } from '@metadome/service'
import type { AuthenticationCredential, Passkey, RegisterPasskeyRequest, WebAuthnOptions } from '@metadome/contracts'
import type { FastifyBaseLogger } from 'fastify'
import { findUserById } from '../db/user.repository.js'
import {
  advancePasskey, deletePasskey, findPasskeyByCredential, insertChallenge, insertPasskey, listPasskeys, renamePasskey, spendChallenge
} from '../db/passkey.repository.js'
import type { PasskeyRow } from '../db/passkey.table.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import { PasskeyExists, PasskeyRefused, PasskeySignInRefused } from '../errors.js'
import { startSession, type Issued, type SessionsContext } from './sessions.js'
import { auditFailure, LoginRefused, refuseDisabled, type SignInFrom } from './sign-in.js'

export interface RelyingParty {
  id: string
  name: string
  origins: string[]
}

export interface PasskeysContext extends SessionsContext {
  rp: RelyingParty
  log: FastifyBaseLogger
}

/** How long a ceremony may take, from its options to its answer. */
const CHALLENGE_TTL_SECONDS = 5 * 60

/** The WebAuthn user handle of a user: the 16 bytes of their UUID. */
const userHandleOf = (userId: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'))

/** The challenge a client signed, read from its clientDataJSON (then checked by the library against the one we stored). */
function challengeOf (clientDataJSON: string): string | undefined {
  try {
    const data: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'))
    const challenge = typeof data === 'object' && data !== null && 'challenge' in data ? data.challenge : undefined
    return typeof challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(challenge) ? challenge : undefined
  } catch {
    return undefined
  }
}

export const toPasskey = (row: PasskeyRow): Passkey => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at.toISOString(),
  lastUsedAt: row.last_used_at?.toISOString() ?? null
})

/** Options for navigator.credentials.create(): a discoverable credential (sign-in without a username), none of the user's existing ones. */
export async function registrationOptions (ctx: PasskeysContext, userId: string): Promise<WebAuthnOptions> {
  const user = await findUserById(ctx.db, userId)
  if (user === undefined) throw new NotFound('no such user')
  const existing = await listPasskeys(ctx.db, userId)
  const options = await generateRegistrationOptions({
    rpName: ctx.rp.name,
    rpID: ctx.rp.id,
    userName: user.username,
    userDisplayName: user.display_name,
    userID: userHandleOf(user.id),
    attestationType: 'none',
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' }
  })
  await insertChallenge(ctx.db, { challenge: options.challenge, purpose: 'register', userId, ttlSeconds: CHALLENGE_TTL_SECONDS })
  return options
}

/**
 * Stores a new passkey from an attestation ("none": we trust the user's own
 * choice of authenticator, not a vendor's certificate). The challenge must
 * be one we gave this user for registering, unspent; origin and RP id must
 * be ours.
 */
export async function registerPasskey (ctx: PasskeysContext, userId: string, req: RegisterPasskeyRequest, ip: string | undefined): Promise<Passkey> {
  const challenge = challengeOf(req.credential.response.clientDataJSON)
  if (challenge === undefined || !await spendChallenge(ctx.db, challenge, 'register', userId)) {
    throw new PasskeyRefused('the challenge is unknown, expired or spent: ask for new options')
  }
  let verification
  try {
    verification = await verifyRegistrationResponse({
      response: req.credential,
      expectedChallenge: challenge,
      expectedOrigin: ctx.rp.origins,
      expectedRPID: ctx.rp.id,
      requireUserVerification: false
    })
  } catch (err) {
    ctx.log.debug({ reason: (err as Error).message }, 'passkey registration refused')
    throw new PasskeyRefused('the passkey could not be verified (origin, relying party or attestation)')
  }
  if (!verification.verified) throw new PasskeyRefused('the passkey could not be verified')
  const { credential } = verification.registrationInfo
  const count = (await listPasskeys(ctx.db, userId)).length
  const row = await ctx.db.transaction().execute(async (trx) => {
    const row = await insertPasskey(trx, {
      userId,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey),
      counter: credential.counter,
      transports: req.credential.response.transports ?? [],
      name: req.name ?? `Passkey ${count + 1}`
    })
    if (row === undefined) throw new PasskeyExists()
    await insertAuditEntry(trx, { action: 'passkey.added', actorId: userId, userId, ip: ip ?? null, details: { passkeyId: row.id } })
    return row
  })
  return toPasskey(row)
}

/** Options for navigator.credentials.get(): any discoverable passkey of ours; who it is comes with the answer. */
export async function loginOptions (ctx: PasskeysContext): Promise<WebAuthnOptions> {
  const options = await generateAuthenticationOptions({ rpID: ctx.rp.id, userVerification: 'preferred', timeout: CHALLENGE_TTL_SECONDS * 1000 })
  await insertChallenge(ctx.db, { challenge: options.challenge, purpose: 'login', userId: null, ttlSeconds: CHALLENGE_TTL_SECONDS })
  return options
}

/**
 * Sign-in with a passkey instead of a password (and without a second
 * factor: the authenticator is possession and, with user verification,
 * more). Refused alike whatever is wrong: a spent or foreign challenge (a
 * replayed assertion), an unknown credential, another origin, a bad
 * signature, or a counter that did not grow (a cloned authenticator, or a
 * replay racing the original).
 */
export async function passkeyLogin (ctx: PasskeysContext, credential: AuthenticationCredential, from: SignInFrom): Promise<Issued> {
  const refuse = async (reason: string, row?: PasskeyRow): Promise<never> => {
    const user = row === undefined ? undefined : await findUserById(ctx.db, row.user_id)
    await auditFailure(ctx, user, from, reason)
    throw new LoginRefused('failure', new PasskeySignInRefused())
  }
  const challenge = challengeOf(credential.response.clientDataJSON)
  if (challenge === undefined || !await spendChallenge(ctx.db, challenge, 'login', null)) return await refuse('passkey_challenge')
  const row = await findPasskeyByCredential(ctx.db, credential.id)
  if (row === undefined) return await refuse('passkey_unknown')
  const handle = credential.response.userHandle
  if (handle !== undefined && handle !== Buffer.from(userHandleOf(row.user_id)).toString('base64url')) return await refuse('passkey_user_handle', row)
  let newCounter: number
  try {
    const result = await verifyAuthenticationResponse({
      response: credential,
      expectedChallenge: challenge,
      expectedOrigin: ctx.rp.origins,
      expectedRPID: ctx.rp.id,
      credential: { id: row.credential_id, publicKey: new Uint8Array(row.public_key), counter: row.counter, transports: row.transports },
      requireUserVerification: false
    })
    if (!result.verified) return await refuse('passkey_signature', row)
    newCounter = result.authenticationInfo.newCounter
  } catch (err) {
    ctx.log.debug({ reason: (err as Error).message }, 'passkey sign-in refused')
    return await refuse('passkey_verification', row)
  }
  const user = await findUserById(ctx.db, row.user_id)
  if (user === undefined) return await refuse('passkey_unknown')
  await refuseDisabled(ctx, user, from)
  return await startSession(ctx, user, { ...from, method: 'passkey' }, async (trx) => {
    if (!await advancePasskey(trx, row.id, row.counter, newCounter)) throw new LoginRefused('failure', new PasskeySignInRefused())
  })
}

export async function renameUserPasskey (ctx: PasskeysContext, userId: string, id: string, name: string, ip: string | undefined): Promise<Passkey> {
  return await ctx.db.transaction().execute(async (trx) => {
    const row = await renamePasskey(trx, userId, id, name)
    if (row === undefined) throw new NotFound('no such passkey')
    await insertAuditEntry(trx, { action: 'passkey.renamed', actorId: userId, userId, ip: ip ?? null, details: { passkeyId: id } })
    return toPasskey(row)
  })
}

export async function removeUserPasskey (ctx: PasskeysContext, userId: string, id: string, ip: string | undefined): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    if (!await deletePasskey(trx, userId, id)) throw new NotFound('no such passkey')
    await insertAuditEntry(trx, { action: 'passkey.removed', actorId: userId, userId, ip: ip ?? null, details: { passkeyId: id } })
  })
}
