// Every refusal of the library is an E2eeError whose `code` names the check
// that failed. Codes are part of the API: callers (the SDK, the CLI) and tests
// switch on them, never on the wording of `message`.

export const E2EE_ERROR_CODES = [
  /** The envelope is not the JSON shape of its version (missing or extra fields, bad base64, unsorted recipients). */
  'bad_envelope',
  /** The envelope's version is one this library cannot open. */
  'unsupported_version',
  /** A signed device list failed verifySignedDeviceList, or is not the list of the user it was fetched for. */
  'bad_device_list',
  /** A user's account key is not the one the caller trusts for them (pinned on first use, or verified). */
  'account_key_changed',
  /** The sending device is not in its user's signed device list (or no list could be had). */
  'unknown_device',
  /** The sender device's signature over header, nonce and ciphertext does not verify. */
  'bad_signature',
  /** The header names another conversation than the one the message arrived in. */
  'wrong_conversation',
  /** The header names another sender than the one the server delivered it from. */
  'wrong_sender',
  /** The header names another message id than the one the message arrived with. */
  'wrong_message',
  /** This device is not among the header's recipients. */
  'not_a_recipient',
  /** This device's wrap of the content key does not open, or is not bound to this header and ciphertext. */
  'bad_wrap',
  /** The unwrapped content key does not match the commitment in the signed header. */
  'bad_key_commitment',
  /** The body does not decrypt under the content key with the header as associated data, or its padding is broken. */
  'bad_ciphertext',
  /** This (sender device, message id) was opened before. */
  'replay',
  /** The envelope would exceed the 64 KiB limit of a message body. */
  'too_large'
] as const

export type E2eeErrorCode = typeof E2EE_ERROR_CODES[number]

export class E2eeError extends Error {
  readonly code: E2eeErrorCode
  constructor (code: E2eeErrorCode, message: string) {
    super(`${code}: ${message}`)
    this.name = 'E2eeError'
    this.code = code
  }
}

export function isE2eeError (err: unknown, code?: E2eeErrorCode): err is E2eeError {
  return err instanceof E2eeError && (code === undefined || err.code === code)
}
