import type { Device, SignedDeviceList } from '@metadome/contracts'
import {
  accountPublicKey, exportAccountKey, exportDeviceKeys, generateAccountKey, generateDeviceKeys, importAccountKey, importDeviceKeys,
  nextDeviceList, publicDevice, signDeviceList, verifySignedDeviceList,
  type AccountKeyPair, type DeviceKeyPair
} from '@metadome/e2ee'
import type { AuthApi } from './auth-api.js'
import { ChatClientError, isChatClientError } from './errors.js'
import type { KeyStore } from './key-store.js'
import type { AuthedCalls } from './token-keeper.js'

// This device's keys and its place in the user's signed device list
// (DESIGN.md "Keys"). The first sign-in on a device makes its keys (and, for
// a new account, the account key) and publishes the list; a device whose
// store holds the account key adds itself to the list; one that does not
// cannot, and says so. Keys are saved before they are published, so a crash
// in between loses nothing.
//
// Replacing the published account key (newKeys) needs the account's
// password, which auth-api checks so that a copied access token alone cannot
// do it: login() has the password, resume() does not. Only a list signed by
// another account key than the published one carries it.

export interface DeviceKeys {
  /** The account public key (base64url) that signs the published list. */
  accountKey: string
  device: DeviceKeyPair
}

export interface DeviceKeysOptions {
  userId: string
  api: AuthApi
  tokens: AuthedCalls
  store: KeyStore
  /** Where the account key and the device keys are kept in the store. */
  names: { account: string, device: string }
  /** Replace the account key and this device's keys with new ones. */
  newKeys: boolean
  /** The account's password, when signing in with it. */
  password: string | undefined
}

/** Makes or loads this device's keys and makes sure the published, signed device list has them. */
export async function ensureDeviceKeys (o: DeviceKeysOptions): Promise<DeviceKeys> {
  const storedAccount = await o.store.get(o.names.account)
  const storedDevice = await o.store.get(o.names.device)
  let account: AccountKeyPair | undefined = storedAccount === undefined ? undefined : await importAccountKey(storedAccount)
  let device: DeviceKeyPair | undefined = storedDevice === undefined ? undefined : await importDeviceKeys(storedDevice)
  const published = await publishedList(o)

  if (o.newKeys) {
    // Refused before the stored keys are overwritten, which would leave this device with neither.
    if (published !== undefined && o.password === undefined) {
      throw new ChatClientError('bad_request', 'replacing the account key needs the account\'s password: sign in with login({ newKeys: true }) instead of resume()')
    }
    account = await generateAccountKey()
    device = await generateDeviceKeys()
    await saveKeys(o, account, device)
    return { accountKey: await publish(o, account, published, [await publicDevice(device)]), device }
  }

  if (device !== undefined && published !== undefined) {
    const mine = await publicDevice(device)
    const listed = published.deviceList.devices.find((d) => d.deviceId === mine.deviceId)
    if (listed !== undefined && listed.signPublicKey === mine.signPublicKey && listed.boxPublicKey === mine.boxPublicKey &&
      (account === undefined || published.accountKey === await accountPublicKey(account))) {
      return { accountKey: published.accountKey, device }
    }
  }
  if (account === undefined) {
    if (published !== undefined) {
      throw new ChatClientError('no_account_key', 'this account\'s keys are held by another device: sign in there, or start over with new keys (contacts will be warned)')
    }
    account = await generateAccountKey()
  } else if (published !== undefined && published.accountKey !== await accountPublicKey(account)) {
    throw new ChatClientError('no_account_key', 'this account\'s keys were replaced from another device: start over with new keys on this one')
  }
  device ??= await generateDeviceKeys()
  await saveKeys(o, account, device)
  const mine = await publicDevice(device)
  const others = published?.deviceList.devices.filter((d) => d.deviceId !== mine.deviceId) ?? []
  return { accountKey: await publish(o, account, published, [...others, mine]), device }
}

/** The user's published list, if there is one that verifies: one that does not is treated as none, and ours replaces it. */
async function publishedList (o: DeviceKeysOptions): Promise<SignedDeviceList | undefined> {
  let raw: unknown
  try {
    raw = await o.tokens.authed(async (token) => await o.api.keys(token, o.userId))
  } catch (err) {
    if (isChatClientError(err, 'not_found')) return undefined
    throw err
  }
  if (!(await verifySignedDeviceList(raw)).ok) return undefined
  // verifySignedDeviceList checked its exact shape (it says so by `ok`, not by its type).
  const list = raw as SignedDeviceList
  return list.deviceList.userId === o.userId ? list : undefined
}

async function saveKeys (o: DeviceKeysOptions, account: AccountKeyPair, device: DeviceKeyPair): Promise<void> {
  await o.store.set(o.names.account, await exportAccountKey(account))
  await o.store.set(o.names.device, await exportDeviceKeys(device))
}

/** Signs the next version of the list and publishes it; returns the account public key that signed it. */
async function publish (o: DeviceKeysOptions, account: AccountKeyPair, previous: SignedDeviceList | undefined, devices: Device[]): Promise<string> {
  const signed = await signDeviceList(account.secretKey, nextDeviceList({
    userId: o.userId,
    ...(previous !== undefined && { previous: previous.deviceList }),
    devices
  }))
  const replacing = previous !== undefined && previous.accountKey !== signed.accountKey
  await o.tokens.authed(async (token) => await o.api.putKeys(token, signed, replacing ? o.password : undefined))
  return signed.accountKey
}
