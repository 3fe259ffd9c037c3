import Type, { type Static } from 'typebox'
import { Strict } from './schema.js'

// The key directory (DESIGN.md "End-to-end encryption"). Keys are libsodium
// keys in base64url without padding (sodium.base64_variants.URLSAFE_NO_PADDING)
// on both ends: 32-byte public keys are 43 characters, 64-byte signatures 86.

const Key32 = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: '32-byte public key, base64url without padding' })

export const Device = Strict({
  deviceId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  signPublicKey: Key32,
  boxPublicKey: Key32
})
export type Device = Static<typeof Device>

export const DeviceList = Strict({
  userId: Type.String({ format: 'uuid' }),
  version: Type.Integer({ minimum: 1, description: 'only ever grows' }),
  issuedAt: Type.String({ format: 'date-time' }),
  devices: Type.Array(Device, { minItems: 1, maxItems: 32 })
})
export type DeviceList = Static<typeof DeviceList>

/**
 * `signature` is the account key's Ed25519 detached signature over the UTF-8
 * bytes of `DEVICE_LIST_CONTEXT + canonicalJson(deviceList)`, where
 * canonicalJson sorts object keys and writes no whitespace. @metadome/e2ee
 * makes and checks it; auth-api checks it before storing.
 *
 * Publishing a list signed by another account key than the stored one
 * needs the password too (PublishKeysBody): a stolen access token alone
 * cannot replace the key everyone encrypts to.
 */
export const SignedDeviceList = Strict({
  accountKey: Key32,
  deviceList: DeviceList,
  signature: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$', description: '64-byte Ed25519 signature, base64url without padding' })
}, { $id: 'SignedDeviceList' })
export type SignedDeviceList = Static<typeof SignedDeviceList>

/** The body of `PUT /v1/users/me/keys`: a signed device list, and the password when it changes the account key. */
export const PublishKeysBody = Strict({
  ...SignedDeviceList.properties,
  currentPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'never stored or served: the account\'s password, required when accountKey differs from the stored one' }))
})
export type PublishKeysBody = Static<typeof PublishKeysBody>

/** Domain separation for device-list signatures. */
export const DEVICE_LIST_CONTEXT = 'metadome device list v1\n'
