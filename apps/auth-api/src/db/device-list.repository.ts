import type { Kysely } from 'kysely'
import type { SignedDeviceList } from '@metadome/contracts'
import type { AuthDatabase } from './database.js'

/**
 * Stores the list if it is the user's first or its version is higher than the
 * stored one, in one statement; false when the stored version is as high.
 */
export async function putDeviceList (db: Kysely<AuthDatabase>, userId: string, signed: SignedDeviceList): Promise<boolean> {
  const row = await db.insertInto('device_lists')
    .values({ user_id: userId, version: signed.deviceList.version, signed: JSON.stringify(signed) })
    .onConflict((oc) => oc.column('user_id').doUpdateSet((eb) => ({
      version: eb.ref('excluded.version'),
      signed: eb.ref('excluded.signed'),
      updated_at: new Date()
    })).where('device_lists.version', '<', (eb) => eb.ref('excluded.version')))
    .returning('version')
    .executeTakeFirst()
  return row !== undefined
}

export async function getDeviceList (db: Kysely<AuthDatabase>, userId: string): Promise<{ signed: SignedDeviceList, version: number } | undefined> {
  return await db.selectFrom('device_lists').select(['signed', 'version']).where('user_id', '=', userId).executeTakeFirst()
}
