import type { Device } from '@metadome/contracts'
import { isPlainObject } from './device-list.js'
import { fromB64, getSodium, toB64, type Sodium } from './sodium.js'

// Key material (DESIGN.md "End-to-end encryption", "Keys"): an Ed25519 account
// key per user, and per device an Ed25519 signing key and a separate X25519 box
// key. The two device keys are generated independently and never converted
// from one another (no crypto_sign_ed25519_pk_to_curve25519), so a weakness in
// one use cannot spill into the other.
//
// Serialised forms are plain JSON for key stores (a 0600 file, IndexedDB):
// the 32-byte Ed25519 seed rather than libsodium's 64-byte secret key (which
// is seed + public key), and the X25519 secret scalar, each beside its public
// key so that import can check the pair is whole.

export interface SigningKeyPair {
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array
  /** libsodium's Ed25519 secret key, 64 bytes (seed followed by public key). */
  secretKey: Uint8Array
}

export interface BoxKeyPair {
  /** X25519 public key, 32 bytes. */
  publicKey: Uint8Array
  /** X25519 secret key, 32 bytes. */
  secretKey: Uint8Array
}

export type AccountKeyPair = SigningKeyPair

export interface DeviceKeyPair {
  deviceId: string
  sign: SigningKeyPair
  box: BoxKeyPair
}

export interface SerializedAccountKey {
  kind: 'metadome.account-key'
  v: 1
  publicKey: string
  seed: string
}

export interface SerializedDeviceKeys {
  kind: 'metadome.device-keys'
  v: 1
  deviceId: string
  signPublicKey: string
  signSeed: string
  boxPublicKey: string
  boxSecretKey: string
}

const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/

/** A new account key; `seed` (32 bytes) makes it deterministic, for tests and vectors only. */
export async function generateAccountKey (seed?: Uint8Array): Promise<AccountKeyPair> {
  const s = await getSodium()
  return signingKeyPair(s, seed ?? s.randombytes_buf(s.crypto_sign_SEEDBYTES))
}

/**
 * New keys for a device: a random 128-bit device id unless one is given, and
 * two independent key pairs. `seeds` make them deterministic, for tests and
 * vectors only: `sign` is an Ed25519 seed, `box` the X25519 secret key itself.
 */
export async function generateDeviceKeys (options: { deviceId?: string, seeds?: { sign: Uint8Array, box: Uint8Array } } = {}): Promise<DeviceKeyPair> {
  const s = await getSodium()
  const deviceId = options.deviceId ?? toB64(s, s.randombytes_buf(16))
  if (!DEVICE_ID.test(deviceId)) throw new TypeError('deviceId must be 1 to 64 characters of [A-Za-z0-9_-]')
  const sign = signingKeyPair(s, options.seeds?.sign ?? s.randombytes_buf(s.crypto_sign_SEEDBYTES))
  const box = boxKeyPair(s, options.seeds?.box ?? s.randombytes_buf(s.crypto_box_SECRETKEYBYTES))
  return { deviceId, sign, box }
}

/** The public half of a device, as it goes into a device list. */
export async function publicDevice (device: DeviceKeyPair): Promise<Device> {
  const s = await getSodium()
  return { deviceId: device.deviceId, signPublicKey: toB64(s, device.sign.publicKey), boxPublicKey: toB64(s, device.box.publicKey) }
}

/** An account public key in its wire form (base64url without padding). */
export async function accountPublicKey (account: AccountKeyPair): Promise<string> {
  const s = await getSodium()
  return toB64(s, account.publicKey)
}

export async function exportAccountKey (account: AccountKeyPair): Promise<SerializedAccountKey> {
  const s = await getSodium()
  return { kind: 'metadome.account-key', v: 1, publicKey: toB64(s, account.publicKey), seed: toB64(s, account.secretKey.subarray(0, s.crypto_sign_SEEDBYTES)) }
}

export async function importAccountKey (value: unknown): Promise<AccountKeyPair> {
  const s = await getSodium()
  if (!isPlainObject(value) || value.kind !== 'metadome.account-key' || value.v !== 1) throw new TypeError('not a serialized account key')
  const seed = fromB64(s, value.seed, s.crypto_sign_SEEDBYTES)
  if (seed === undefined) throw new TypeError('account key: bad seed')
  const pair = signingKeyPair(s, seed)
  if (toB64(s, pair.publicKey) !== value.publicKey) throw new TypeError('account key: the public key does not match the seed')
  return pair
}

export async function exportDeviceKeys (device: DeviceKeyPair): Promise<SerializedDeviceKeys> {
  const s = await getSodium()
  return {
    kind: 'metadome.device-keys',
    v: 1,
    deviceId: device.deviceId,
    signPublicKey: toB64(s, device.sign.publicKey),
    signSeed: toB64(s, device.sign.secretKey.subarray(0, s.crypto_sign_SEEDBYTES)),
    boxPublicKey: toB64(s, device.box.publicKey),
    boxSecretKey: toB64(s, device.box.secretKey)
  }
}

export async function importDeviceKeys (value: unknown): Promise<DeviceKeyPair> {
  const s = await getSodium()
  if (!isPlainObject(value) || value.kind !== 'metadome.device-keys' || value.v !== 1) throw new TypeError('not serialized device keys')
  if (typeof value.deviceId !== 'string' || !DEVICE_ID.test(value.deviceId)) throw new TypeError('device keys: bad deviceId')
  const signSeed = fromB64(s, value.signSeed, s.crypto_sign_SEEDBYTES)
  const boxSecret = fromB64(s, value.boxSecretKey, s.crypto_box_SECRETKEYBYTES)
  if (signSeed === undefined || boxSecret === undefined) throw new TypeError('device keys: bad secret key')
  const sign = signingKeyPair(s, signSeed)
  const box = boxKeyPair(s, boxSecret)
  if (toB64(s, sign.publicKey) !== value.signPublicKey) throw new TypeError('device keys: the signing public key does not match its seed')
  if (toB64(s, box.publicKey) !== value.boxPublicKey) throw new TypeError('device keys: the box public key does not match its secret key')
  return { deviceId: value.deviceId, sign, box }
}

function signingKeyPair (s: Sodium, seed: Uint8Array): SigningKeyPair {
  if (seed.length !== s.crypto_sign_SEEDBYTES) throw new TypeError('an Ed25519 seed is 32 bytes')
  const { publicKey, privateKey } = s.crypto_sign_seed_keypair(seed)
  return { publicKey, secretKey: privateKey }
}

function boxKeyPair (s: Sodium, secretKey: Uint8Array): BoxKeyPair {
  if (secretKey.length !== s.crypto_box_SECRETKEYBYTES) throw new TypeError('an X25519 secret key is 32 bytes')
  // crypto_box_keypair's secret key is a plain X25519 scalar; its public key
  // is the scalar times the base point, so the pair is rebuilt from the secret.
  return { publicKey: s.crypto_scalarmult_base(secretKey), secretKey: secretKey.slice() }
}
