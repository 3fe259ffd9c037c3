// libsodium end-to-end encryption; see DESIGN.md "End-to-end encryption".
// Runs unchanged in Node and browsers: no node: imports, libsodium through its
// default export only, base64url without padding named on both ends.
export { canonicalJson, CanonicalJsonError } from './canonical-json.js'
export {
  signDeviceList, verifySignedDeviceList, nextDeviceList, checkDeviceListSuccession, MAX_DEVICES,
  type VerifyResult, type SuccessionResult
} from './device-list.js'
export { E2eeError, isE2eeError, E2EE_ERROR_CODES, type E2eeErrorCode } from './errors.js'
export {
  generateAccountKey, generateDeviceKeys, publicDevice, accountPublicKey,
  exportAccountKey, importAccountKey, exportDeviceKeys, importDeviceKeys,
  type SigningKeyPair, type BoxKeyPair, type AccountKeyPair, type DeviceKeyPair,
  type SerializedAccountKey, type SerializedDeviceKeys
} from './keys.js'
export {
  sealEnvelope, openEnvelope, createReceiver, envelopeSender, ENVELOPE_VERSION, MAX_ENVELOPE_BYTES,
  type Envelope, type EnvelopeHeader, type EnvelopeAddress, type SealInput, type OpenOptions,
  type OpenedEnvelope, type Receiver, type RandomBytes, type TrustedAccountKey
} from './envelope.js'
export { MemoryReplayStore, type ReplayStore, type ReplayKey } from './replay.js'
export { padme, paddedLength, MIN_PADDED_BYTES } from './padding.js'
export { safetyNumber, formatSafetyNumber, numericFingerprint, fingerprintDigits, FINGERPRINT_ITERATIONS, type SafetyNumberParty } from './safety-number.js'
