import { sql, type Kysely, type Transaction } from 'kysely'
import type { AuthenticatorTransport } from '@metadome/contracts'
import type { AuthDatabase } from './database.js'
import type { PasskeyRow, WebAuthnChallengeTable } from './passkey.table.js'

type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>

export async function insertChallenge (db: Db, c: { challenge: string, purpose: WebAuthnChallengeTable['purpose'], userId: string | null, ttlSeconds: number }): Promise<void> {
  await db.insertInto('webauthn_challenges').values({
    challenge: c.challenge,
    purpose: c.purpose,
    user_id: c.userId,
    expires_at: sql<Date>`now() + make_interval(secs => ${c.ttlSeconds})`
  }).execute()
}

/** Spends a live challenge of `purpose` (and, for a registration, of that user): once, in one statement. */
export async function spendChallenge (db: Db, challenge: string, purpose: WebAuthnChallengeTable['purpose'], userId: string | null): Promise<boolean> {
  let q = db.deleteFrom('webauthn_challenges')
    .where('challenge', '=', challenge).where('purpose', '=', purpose).where('expires_at', '>', sql<Date>`now()`)
  q = userId === null ? q.where('user_id', 'is', null) : q.where('user_id', '=', userId)
  return (await q.returning('challenge').executeTakeFirst()) !== undefined
}

export async function insertPasskey (db: Db, p: { userId: string, credentialId: string, publicKey: Buffer, counter: number, transports: AuthenticatorTransport[], name: string }): Promise<PasskeyRow | undefined> {
  return await db.insertInto('passkeys').values({
    user_id: p.userId,
    credential_id: p.credentialId,
    public_key: p.publicKey,
    counter: p.counter,
    transports: JSON.stringify(p.transports),
    name: p.name
  }).onConflict((oc) => oc.column('credential_id').doNothing()).returningAll().executeTakeFirst()
}

export async function findPasskeyByCredential (db: Db, credentialId: string): Promise<PasskeyRow | undefined> {
  return await db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst()
}

export async function listPasskeys (db: Db, userId: string): Promise<PasskeyRow[]> {
  return await db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute()
}

export async function countPasskeys (db: Db, userId: string): Promise<number> {
  const row = await db.selectFrom('passkeys').select(sql<number>`count(*)::int`.as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()
  return row.n
}

/** Raises the counter from `from` to `to`: false when another sign-in with this passkey got there first. */
export async function advancePasskey (db: Db, id: string, from: number, to: number): Promise<boolean> {
  const res = await db.updateTable('passkeys').set({ counter: to, last_used_at: new Date() })
    .where('id', '=', id).where('counter', '=', from)
    .executeTakeFirst()
  return res.numUpdatedRows > 0n
}

export async function renamePasskey (db: Db, userId: string, id: string, name: string): Promise<PasskeyRow | undefined> {
  return await db.updateTable('passkeys').set({ name }).where('id', '=', id).where('user_id', '=', userId).returningAll().executeTakeFirst()
}

export async function deletePasskey (db: Db, userId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('passkeys').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
  return res.numDeletedRows > 0n
}

export async function pruneChallenges (db: Kysely<AuthDatabase>): Promise<void> {
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<', sql<Date>`now()`).execute()
}
