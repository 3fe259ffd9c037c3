// libsodium end-to-end encryption; see DESIGN.md "End-to-end encryption".
export { canonicalJson, CanonicalJsonError } from './canonical-json.js'
export { signDeviceList, verifySignedDeviceList, type VerifyResult } from './device-list.js'
