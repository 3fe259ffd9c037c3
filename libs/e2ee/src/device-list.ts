import { DEVICE_LIST_CONTEXT, type Device, type DeviceList, type SignedDeviceList } from '@metadome/contracts'
import { canonicalJson } from './canonical-json.js'
import { fromB64, getSodium, toB64, utf8, type Sodium } from './sodium.js'

// A user's devices, signed by their account key (DESIGN.md "End-to-end
// encryption", "Keys"). The signature is Ed25519, detached, over the UTF-8
// bytes of DEVICE_LIST_CONTEXT + canonicalJson(deviceList); keys and the
// signature travel as base64url without padding. auth-api guards its key
// directory with verifySignedDeviceList, and receivers start their key chain
// (account key -> device list -> device key) with it.

export type VerifyResult = { ok: true } | { ok: false, reason: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/
export const MAX_DEVICES = 32

/** The exact bytes an account key signs for a device list. */
export function deviceListSigningBytes (s: Sodium, deviceList: DeviceList): Uint8Array {
  return utf8(s, DEVICE_LIST_CONTEXT + canonicalJson(deviceList))
}

/**
 * Signs a device list with the account key: `accountSecretKey` is libsodium's
 * 64-byte Ed25519 secret key (seed followed by public key). Throws on a
 * malformed list or key, so nothing that verifySignedDeviceList would refuse
 * is ever signed.
 */
export async function signDeviceList (accountSecretKey: Uint8Array, deviceList: DeviceList): Promise<SignedDeviceList> {
  const s = await getSodium()
  if (!(accountSecretKey instanceof Uint8Array) || accountSecretKey.length !== s.crypto_sign_SECRETKEYBYTES) {
    throw new TypeError('accountSecretKey must be a 64-byte Ed25519 secret key')
  }
  // The public half is recomputed from the seed rather than trusted from the
  // second half of the secret key, so a corrupted key cannot sign for another.
  const { publicKey } = s.crypto_sign_seed_keypair(accountSecretKey.subarray(0, s.crypto_sign_SEEDBYTES))
  if (!s.memcmp(publicKey, accountSecretKey.subarray(s.crypto_sign_SEEDBYTES))) {
    throw new TypeError('accountSecretKey is inconsistent: its public half does not match its seed')
  }
  const problem = deviceListProblem(s, deviceList)
  if (problem !== undefined) throw new TypeError(`invalid device list: ${problem}`)
  const signature = s.crypto_sign_detached(deviceListSigningBytes(s, deviceList), accountSecretKey)
  return { accountKey: toB64(s, publicKey), deviceList, signature: toB64(s, signature) }
}

/**
 * Checks a signed device list as it arrives from the network: its exact shape
 * (no unknown fields, canonical base64url keys of the right length, unique
 * device ids and keys, 1..32 devices, a safe-integer version >= 1) and the
 * account key's signature over it. It does not know which account key is
 * expected for the user, nor the previous version: callers compare those.
 */
export async function verifySignedDeviceList (signed: unknown): Promise<VerifyResult> {
  const s = await getSodium()
  if (!isPlainObject(signed)) return fail('not an object')
  const extra = unexpectedKeys(signed, ['accountKey', 'deviceList', 'signature'])
  if (extra !== undefined) return fail(extra)
  const accountKey = fromB64(s, signed.accountKey, s.crypto_sign_PUBLICKEYBYTES)
  if (accountKey === undefined) return fail('accountKey is not a 32-byte key in base64url without padding')
  const signature = fromB64(s, signed.signature, s.crypto_sign_BYTES)
  if (signature === undefined) return fail('signature is not 64 bytes in base64url without padding')
  const problem = deviceListProblem(s, signed.deviceList)
  if (problem !== undefined) return fail(`deviceList: ${problem}`)
  const message = deviceListSigningBytes(s, signed.deviceList as DeviceList)
  let good = false
  try {
    good = s.crypto_sign_verify_detached(signature, message, accountKey)
  } catch {
    good = false
  }
  return good ? { ok: true } : fail('the signature does not verify with accountKey')
}

function fail (reason: string): VerifyResult {
  return { ok: false, reason }
}

/** Why `value` is not a well-formed DeviceList, or undefined if it is one. */
export function deviceListProblem (s: Sodium, value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'not an object'
  const extra = unexpectedKeys(value, ['userId', 'version', 'issuedAt', 'devices'])
  if (extra !== undefined) return extra
  if (typeof value.userId !== 'string' || !UUID.test(value.userId)) return 'userId is not a UUID'
  if (typeof value.version !== 'number' || !Number.isSafeInteger(value.version) || value.version < 1) {
    return 'version is not an integer >= 1'
  }
  if (typeof value.issuedAt !== 'string' || !DATE_TIME.test(value.issuedAt) || Number.isNaN(Date.parse(value.issuedAt))) {
    return 'issuedAt is not an RFC 3339 date-time'
  }
  const devices = value.devices
  if (!Array.isArray(devices) || devices.length < 1 || devices.length > MAX_DEVICES) {
    return `devices is not a list of 1 to ${MAX_DEVICES} devices`
  }
  const seen = new Set<string>()
  for (const [i, d] of devices.entries()) {
    if (!isPlainObject(d)) return `devices[${i}] is not an object`
    const extraD = unexpectedKeys(d, ['deviceId', 'signPublicKey', 'boxPublicKey'])
    if (extraD !== undefined) return `devices[${i}]: ${extraD}`
    if (typeof d.deviceId !== 'string' || !DEVICE_ID.test(d.deviceId)) return `devices[${i}].deviceId is malformed`
    if (fromB64(s, d.signPublicKey, s.crypto_sign_PUBLICKEYBYTES) === undefined) {
      return `devices[${i}].signPublicKey is not a 32-byte key in base64url without padding`
    }
    if (fromB64(s, d.boxPublicKey, s.crypto_box_PUBLICKEYBYTES) === undefined) {
      return `devices[${i}].boxPublicKey is not a 32-byte key in base64url without padding`
    }
    // One id, one key, one device: a repeated id would make "the" device key
    // ambiguous, and a key shared by two devices (or used for both signing and
    // boxing) is a key that was copied or converted, which the design forbids.
    for (const [kind, v] of [['deviceId', d.deviceId], ['key', d.signPublicKey], ['key', d.boxPublicKey]] as const) {
      const tag = `${kind}:${v as string}`
      if (seen.has(tag)) return `devices[${i}] repeats a ${kind === 'key' ? 'public key' : 'device id'}`
      seen.add(tag)
    }
  }
  return undefined
}

export function isPlainObject (v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

function unexpectedKeys (obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) return `unexpected field ${JSON.stringify(k)}`
  }
  for (const k of allowed) {
    if (obj[k] === undefined) return `missing field ${JSON.stringify(k)}`
  }
  return undefined
}

/**
 * The next version of a user's device list (version 1 when there is none
 * yet): the caller adds or removes devices, this numbers and dates it.
 */
export function nextDeviceList (options: { userId: string, previous?: DeviceList, devices: Device[], issuedAt?: string }): DeviceList {
  if (options.previous !== undefined && options.previous.userId !== options.userId) throw new TypeError('the previous list belongs to another user')
  return {
    userId: options.userId,
    version: options.previous === undefined ? 1 : options.previous.version + 1,
    issuedAt: options.issuedAt ?? new Date().toISOString(),
    devices: options.devices
  }
}

export type SuccessionResult =
  | { ok: true, accountKeyChanged: boolean }
  | { ok: false, code: 'bad_device_list' | 'user_changed' | 'version_not_newer', reason: string }

/**
 * Whether `next` may replace `previous` (the one stored, or cached by a
 * client): it verifies, it is the same user's, and its version is greater.
 * A different account key is allowed but reported, so that the key
 * directory can record it and clients can warn (DESIGN.md "Verification");
 * whether to accept it is the caller's decision.
 */
export async function checkDeviceListSuccession (previous: SignedDeviceList | undefined, next: unknown): Promise<SuccessionResult> {
  const verified = await verifySignedDeviceList(next)
  if (!verified.ok) return { ok: false, code: 'bad_device_list', reason: verified.reason }
  const list = next as SignedDeviceList
  if (previous === undefined) return { ok: true, accountKeyChanged: false }
  if (list.deviceList.userId !== previous.deviceList.userId) {
    return { ok: false, code: 'user_changed', reason: `the list is for ${list.deviceList.userId}, not ${previous.deviceList.userId}` }
  }
  if (list.deviceList.version <= previous.deviceList.version) {
    return { ok: false, code: 'version_not_newer', reason: `version ${list.deviceList.version} does not follow ${previous.deviceList.version}` }
  }
  return { ok: true, accountKeyChanged: list.accountKey !== previous.accountKey }
}
