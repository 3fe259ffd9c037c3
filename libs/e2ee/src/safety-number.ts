import { concatBytes, fromB64, getSodium, type Sodium } from './sodium.js'

// Safety numbers (DESIGN.md "Verification"): Signal's numeric fingerprint,
// over the two users' account keys, so that two people comparing the same
// 60 digits know that neither the key directory nor anyone else substituted
// an account key between them.
//
// Signal's algorithm (libsignal NumericFingerprintGenerator, fingerprint
// version 0, which both its display versions 1 and 2 use for the digits):
//   per side  h = SHA-512(0x0000 || key || id || key), then 5199 times
//             h = SHA-512(h || key)                      (5200 hashes in all)
//   digits    the first 30 bytes of h as six 5-byte big-endian integers, each
//             mod 100000 and written as 5 digits: 30 digits
//   number    the two sides' 30 digits, the smaller string first: 60 digits,
//             the same on both phones.
// In libsignal `key` is the serialised identity key: a 0x05 type byte
// (Curve25519) and 32 key bytes. Our account keys are Ed25519, 32 bytes; we
// feed them as 0x05 || account key, so that the generator below is
// byte-for-byte Signal's (checked against libsignal's published vector) and
// the input is still 33 bytes. `id` is the user id: the 16 bytes of its UUID,
// so that its spelling (case) cannot change the number.

export const FINGERPRINT_ITERATIONS = 5200
const FINGERPRINT_VERSION = new Uint8Array([0, 0])
const IDENTITY_KEY_TYPE = 0x05

/** One side's 30 digits (Signal's displayable fingerprint half). */
export async function fingerprintDigits (identityKey: Uint8Array, stableId: Uint8Array, iterations = FINGERPRINT_ITERATIONS): Promise<string> {
  const s = await getSodium()
  return digits(iteratedHash(s, identityKey, stableId, iterations))
}

/** Signal's displayable fingerprint for raw identity keys and stable ids: 60 digits. */
export async function numericFingerprint (
  local: { identityKey: Uint8Array, stableId: Uint8Array },
  remote: { identityKey: Uint8Array, stableId: Uint8Array },
  iterations = FINGERPRINT_ITERATIONS
): Promise<string> {
  const a = await fingerprintDigits(local.identityKey, local.stableId, iterations)
  const b = await fingerprintDigits(remote.identityKey, remote.stableId, iterations)
  return a < b ? a + b : b + a
}

export interface SafetyNumberParty {
  /** The user's id (a UUID). */
  userId: string
  /** Their account public key, base64url without padding (SignedDeviceList.accountKey). */
  accountKey: string
}

/** The safety number of two users: 60 digits, the same whichever side computes it. */
export async function safetyNumber (local: SafetyNumberParty, remote: SafetyNumberParty): Promise<string> {
  const s = await getSodium()
  return await numericFingerprint(
    { identityKey: identityKeyBytes(s, local.accountKey), stableId: uuidBytes(local.userId) },
    { identityKey: identityKeyBytes(s, remote.accountKey), stableId: uuidBytes(remote.userId) }
  )
}

/** Twelve groups of five digits, as Signal shows them. */
export function formatSafetyNumber (digits: string): string {
  return (digits.match(/\d{1,5}/g) ?? []).join(' ')
}

function identityKeyBytes (s: Sodium, accountKey: string): Uint8Array {
  const key = fromB64(s, accountKey, s.crypto_sign_PUBLICKEYBYTES)
  if (key === undefined) throw new TypeError('accountKey is not a 32-byte key in base64url without padding')
  const out = new Uint8Array(1 + key.length)
  out[0] = IDENTITY_KEY_TYPE
  out.set(key, 1)
  return out
}

function uuidBytes (userId: string): Uint8Array {
  const hex = userId.toLowerCase()
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(hex)) throw new TypeError('userId is not a UUID')
  const plain = hex.replace(/-/g, '')
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[i] = parseInt(plain.slice(2 * i, 2 * i + 2), 16)
  return out
}

function iteratedHash (s: Sodium, key: Uint8Array, id: Uint8Array, iterations: number): Uint8Array {
  if (!Number.isSafeInteger(iterations) || iterations < 2) throw new RangeError('iterations must be an integer >= 2')
  // crypto_hash is SHA-512 in libsodium (the standard build of
  // libsodium-wrappers has no crypto_hash_sha512 alias).
  const buf = new Uint8Array(s.crypto_hash_BYTES + key.length)
  buf.set(key, s.crypto_hash_BYTES)
  let h = s.crypto_hash(concatBytes(FINGERPRINT_VERSION, key, id, key))
  for (let i = 1; i < iterations; i++) {
    buf.set(h, 0)
    h = s.crypto_hash(buf)
  }
  return h
}

function digits (hash: Uint8Array): string {
  let out = ''
  for (let chunk = 0; chunk < 6; chunk++) {
    let x = 0
    for (let j = 0; j < 5; j++) x = x * 256 + (hash[chunk * 5 + j] as number)
    out += String(x % 100000).padStart(5, '0')
  }
  return out
}
