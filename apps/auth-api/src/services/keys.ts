import type { Kysely } from 'kysely'
import { Forbidden } from '@metadome/service'
import type { PublishKeysBody, SignedDeviceList } from '@metadome/contracts'
import { verifySignedDeviceList } from '@metadome/e2ee'
import type { AuthDatabase } from '../db/database.js'
import { getDeviceList, insertDeviceList, replaceDeviceList } from '../db/device-list.repository.js'
import { findUserById } from '../db/user.repository.js'
import { CurrentPasswordRequired, InvalidSignature, VersionConflict } from '../errors.js'
import type { Passwords } from '../plugins/app/passwords.js'
import type { Caller } from '../plugins/app/tokens.js'
import { checkCurrentPassword } from './current-password.js'

export interface KeysContext {
  db: Kysely<AuthDatabase>
  passwords: Passwords
}

/** device_lists.version is an integer column: a version past it could be stored by nobody. */
const MAX_VERSION = 2 ** 31 - 1

/**
 * Publishes the caller's signed device list (DESIGN.md "End-to-end
 * encryption"). The server cannot forge a list, only store it, so what it
 * guards is who may replace one:
 *
 * - the list must be the caller's and validly signed by its account key;
 * - its version is exactly the stored one + 1 (any version for the first
 *   list): a list stored at the last version could never be followed, so a
 *   jump there would lock the owner out of their own directory entry;
 * - a list signed by another account key than the stored one needs the
 *   account's password, checked as PATCH /v1/users/:id checks it (through
 *   the sign-in count, for the caller's address `ip`): the key everyone
 *   encrypts to is not handed to whoever holds a copied access token. A
 *   first list needs none (there is no key to take over yet).
 *
 * The password is never part of what is stored or served.
 */
export async function publishDeviceList (ctx: KeysContext, caller: Caller, body: PublishKeysBody, ip: string | undefined): Promise<SignedDeviceList> {
  const { currentPassword, ...signed } = body
  if (signed.deviceList.userId !== caller.userId) throw new Forbidden('deviceList.userId is not the signed-in user')
  const check = await verifySignedDeviceList(signed)
  if (!check.ok) throw new InvalidSignature(`the device list is not validly signed: ${check.reason}`)

  const stored = await getDeviceList(ctx.db, caller.userId)
  const version = signed.deviceList.version
  if (stored !== undefined && version !== stored.version + 1) {
    throw new VersionConflict(`deviceList.version must be ${stored.version + 1}, the stored version + 1`)
  }
  if (version > MAX_VERSION) throw new VersionConflict(`deviceList.version must be at most ${MAX_VERSION}`)
  if (stored !== undefined && stored.signed.accountKey !== signed.accountKey && currentPassword === undefined) {
    throw new CurrentPasswordRequired('replacing the account key needs currentPassword')
  }
  if (currentPassword !== undefined) await checkCurrentPassword(ctx, await findUserById(ctx.db, caller.userId), currentPassword, ip)

  // Checked against `stored` and written only if it is still the stored one,
  // so a concurrent publish (with another key, say) cannot slip in between.
  const written = stored === undefined
    ? await insertDeviceList(ctx.db, caller.userId, signed)
    : await replaceDeviceList(ctx.db, caller.userId, stored.version, signed)
  if (!written) throw new VersionConflict('the device list changed meanwhile: fetch it and publish the next version')
  return signed
}
