import sodium from 'libsodium-wrappers'
import type { Test } from 'tap'
import type { SignedDeviceList } from '@metadome/contracts'
import {
  E2eeError, generateAccountKey, generateDeviceKeys, publicDevice, signDeviceList,
  type AccountKeyPair, type DeviceKeyPair, type E2eeErrorCode
} from '@metadome/e2ee'

await sodium.ready
export const B64 = sodium.base64_variants.URLSAFE_NO_PADDING
export const b64 = (bytes: Uint8Array): string => sodium.to_base64(bytes, B64)
export const unb64 = (text: string): Uint8Array => sodium.from_base64(text, B64)

/** 32 bytes that depend only on `label`: fixed, distinct keys for tests. */
export function fixedBytes (label: string, length = 32): Uint8Array {
  return sodium.crypto_generichash(length, sodium.from_string(`metadome e2ee test ${label}`), null)
}

export interface TestUser {
  name: string
  userId: string
  account: AccountKeyPair
  devices: DeviceKeyPair[]
  signed: SignedDeviceList
}

/** A user with fixed keys (from `name`) and `deviceCount` devices named <name>-1, <name>-2, ... */
export async function makeUser (name: string, userId: string, deviceCount: number, options: { version?: number, issuedAt?: string } = {}): Promise<TestUser> {
  const account = await generateAccountKey(fixedBytes(`${name} account`))
  const devices: DeviceKeyPair[] = []
  for (let i = 1; i <= deviceCount; i++) {
    devices.push(await generateDeviceKeys({
      deviceId: `${name}-${i}`,
      seeds: { sign: fixedBytes(`${name}-${i} sign`), box: fixedBytes(`${name}-${i} box`) }
    }))
  }
  const signed = await signDeviceList(account.secretKey, {
    userId,
    version: options.version ?? 1,
    issuedAt: options.issuedAt ?? '2025-01-01T00:00:00.000Z',
    devices: await Promise.all(devices.map(publicDevice))
  })
  return { name, userId, account, devices, signed }
}

export const USER_IDS = {
  alice: '0a1ce000-0000-4000-8000-000000000001',
  bob: '0b0b0000-0000-4000-8000-000000000002',
  carol: '0ca10000-0000-4000-8000-000000000003',
  mallory: '0ba00000-0000-4000-8000-000000000004'
} as const

/** A key directory: what auth-api serves, as the SDK would fetch it. */
export function directoryOf (...users: TestUser[]): (userId: string) => SignedDeviceList | undefined {
  const byId = new Map(users.map((u) => [u.userId, u.signed]))
  return (userId) => byId.get(userId)
}

/** A random source that hands out the given byte strings in order, and fails if asked for more or other sizes. */
export function scriptedRandom (draws: Uint8Array[]): (length: number) => Uint8Array {
  let i = 0
  return (length) => {
    const next = draws[i++]
    if (next === undefined || next.length !== length) throw new Error(`scripted random: draw ${i} of ${length} bytes was not scripted`)
    return next
  }
}

/** Asserts that `promise` rejects with an E2eeError of exactly `code`, and returns it. */
export async function rejectsWith (t: Test, promise: Promise<unknown>, code: E2eeErrorCode, message?: string): Promise<E2eeError | undefined> {
  try {
    await promise
  } catch (err) {
    if (!(err instanceof E2eeError)) {
      t.fail(`${message ?? code}: rejected with ${String(err)}, not an E2eeError`)
      return undefined
    }
    t.equal(err.code, code, message ?? code)
    return err
  }
  t.fail(`${message ?? code}: resolved, expected ${code}`)
  return undefined
}
