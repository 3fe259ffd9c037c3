import type { Kysely } from 'kysely'
import type { SignedDeviceList } from '@metadome/contracts'
import type { AuthDatabase } from './database.js'

/** A user's first list; false when one was stored meanwhile. */
export async function insertDeviceList (db: Kysely<AuthDatabase>, userId: string, signed: SignedDeviceList): Promise<boolean> {
  const row = await db.insertInto('device_lists')
    .values({ user_id: userId, version: signed.deviceList.version, signed: JSON.stringify(signed) })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .returning('version')
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Replaces the list stored at `previousVersion`, in one statement (compare
 * and set); false when another list replaced it meanwhile. Versions only
 * grow, so the same version means the very list the caller checked against.
 */
export async function replaceDeviceList (db: Kysely<AuthDatabase>, userId: string, previousVersion: number, signed: SignedDeviceList): Promise<boolean> {
  const res = await db.updateTable('device_lists')
    .set({ version: signed.deviceList.version, signed: JSON.stringify(signed), updated_at: new Date() })
    .where('user_id', '=', userId).where('version', '=', previousVersion)
    .executeTakeFirst()
  return res.numUpdatedRows > 0n
}

export async function getDeviceList (db: Kysely<AuthDatabase>, userId: string): Promise<{ signed: SignedDeviceList, version: number } | undefined> {
  return await db.selectFrom('device_lists').select(['signed', 'version']).where('user_id', '=', userId).executeTakeFirst()
}
