import { MAX_BODY_BYTES, type Device, type SignedDeviceList } from '@metadome/contracts'
import { canonicalJson } from './canonical-json.js'
import { isPlainObject, verifySignedDeviceList } from './device-list.js'
import { E2eeError } from './errors.js'
import type { DeviceKeyPair } from './keys.js'
import { pad, unpad } from './padding.js'
import { MemoryReplayStore, type ReplayStore } from './replay.js'
import { concatBytes, fromB64, getSodium, toB64, utf8, type Sodium } from './sodium.js'

// The envelope of DESIGN.md "End-to-end encryption", version 1. One envelope
// carries one message to every device of every member of a conversation:
//
//   header      canonical JSON: version, conversation, message id, sender
//               user and device, per-device counter, sender's clock, the
//               sorted recipient devices, a commitment to the content key
//   nonce       24 random bytes
//   ciphertext  XChaCha20-Poly1305-IETF(key = fresh random content key,
//               nonce, ad = canonicalJson(header), padded body)
//   wraps[i]    for header.recipients[i]: 24-byte nonce || crypto_box(
//               content key || digest, sender device box key -> recipient
//               device box key), where digest = BLAKE2b-256 over header,
//               nonce and ciphertext, so a wrap opens only with its message
//   signature   Ed25519 by the sender device over header, nonce, ciphertext
//
// Every byte string is base64url without padding. The header is signed and
// authenticated as associated data in its canonical form, recomputed by the
// receiver from the JSON it got, so re-serialisation on the way (PostgreSQL
// jsonb reorders keys) changes nothing. The key commitment matters because
// XChaCha20-Poly1305 is not key-committing: without it a malicious sender
// could wrap different keys for different recipients and show each of them a
// different plaintext under one signature.
//
// There is no ratchet yet (no forward secrecy); `v` lets one come later.

export const ENVELOPE_VERSION = 1
export const MAX_ENVELOPE_BYTES = MAX_BODY_BYTES

const SIGNATURE_CONTEXT = 'metadome envelope v1 signature\n'
const WRAP_DIGEST_CONTEXT = 'metadome envelope v1 wrap digest\n'
const KEY_COMMITMENT_CONTEXT = 'metadome envelope v1 key commitment\n'

const KEY_BYTES = 32
const NONCE_BYTES = 24
const DIGEST_BYTES = 32
const MAC_BYTES = 16
const WRAP_BYTES = NONCE_BYTES + KEY_BYTES + DIGEST_BYTES + MAC_BYTES

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/
// Group ids are UUIDs and direct ids dm_<uuid>_<uuid>; the envelope only needs
// them to compare equal, so it accepts any short token of that alphabet.
const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,128}$/

export type EnvelopeAddress = { userId: string, deviceId: string }

export type EnvelopeHeader = {
  v: 1
  conversationId: string
  messageId: string
  sender: EnvelopeAddress
  counter: number
  sentAt: string
  recipients: EnvelopeAddress[]
  keyCommitment: string
}

/** A plain JSON object: it is the opaque `body` of a chat message. */
export type Envelope = {
  v: 1
  header: EnvelopeHeader
  nonce: string
  ciphertext: string
  wraps: string[]
  signature: string
}

/** Where randomness comes from; injected only to reproduce golden vectors. */
export type RandomBytes = (length: number) => Uint8Array

export type TrustedAccountKey = (userId: string) => string | undefined | Promise<string | undefined>

export interface SealInput {
  conversationId: string
  /** The chat message id (a UUID); (sender device, messageId) must never repeat. */
  messageId: string
  /** Per-device counter, kept by the sending device; grows with each message. */
  counter: number
  /** The sender's clock, RFC 3339; now by default. */
  sentAt?: string
  sender: { userId: string, device: DeviceKeyPair }
  /**
   * The signed device list of every member of the conversation, the sender's
   * own included: every device in them except the sending one gets a wrap.
   * Each list is checked (signature, and `trustedAccountKey` if given) before
   * a key is wrapped for it.
   */
  recipients: readonly SignedDeviceList[]
  trustedAccountKey?: TrustedAccountKey
  plaintext: Uint8Array | string
  /**
   * Draws, in this order: the content key (32 bytes), the body nonce (24),
   * then one wrap nonce (24) per recipient in header order. Defaults to
   * libsodium's CSPRNG; tests inject fixed bytes to reproduce vectors.
   */
  random?: RandomBytes
}

/** Encrypts and signs one message for every recipient device. */
export async function sealEnvelope (input: SealInput): Promise<Envelope> {
  const s = await getSodium()
  const random: RandomBytes = input.random ?? ((n) => s.randombytes_buf(n))
  const draw = (n: number): Uint8Array => {
    const bytes = random(n)
    if (!(bytes instanceof Uint8Array) || bytes.length !== n) throw new TypeError(`random(${n}) did not return ${n} bytes`)
    return bytes
  }

  const { conversationId, messageId, counter, sender } = input
  const sentAt = input.sentAt ?? new Date().toISOString()
  if (typeof conversationId !== 'string' || !CONVERSATION_ID.test(conversationId)) throw new TypeError('conversationId is malformed')
  if (typeof messageId !== 'string' || !UUID.test(messageId)) throw new TypeError('messageId must be a UUID')
  if (!Number.isSafeInteger(counter) || counter < 0) throw new TypeError('counter must be a safe integer >= 0')
  if (!DATE_TIME.test(sentAt) || Number.isNaN(Date.parse(sentAt))) throw new TypeError('sentAt must be an RFC 3339 date-time')
  if (!UUID.test(sender.userId)) throw new TypeError('sender.userId must be a UUID')

  // The key chain, on the sending side too: a key is only ever wrapped for a
  // device that the user's account key has signed into their list.
  const boxKeys = new Map<string, Uint8Array>()
  const recipients: EnvelopeAddress[] = []
  const seenUsers = new Set<string>()
  let senderListed = false
  for (const signed of input.recipients) {
    const list = await checkedDeviceList(signed, signed?.deviceList?.userId, input.trustedAccountKey)
    const userId = list.deviceList.userId
    if (seenUsers.has(userId)) throw new TypeError(`two device lists for user ${userId}`)
    seenUsers.add(userId)
    for (const device of list.deviceList.devices) {
      if (userId === sender.userId && device.deviceId === sender.device.deviceId) {
        if (!sameKeys(s, device, sender.device)) {
          throw new E2eeError('unknown_device', 'the sending device is in its own device list with other keys')
        }
        senderListed = true
        continue
      }
      recipients.push({ userId, deviceId: device.deviceId })
      boxKeys.set(addressKey(userId, device.deviceId), fromB64(s, device.boxPublicKey, KEY_BYTES) as Uint8Array)
    }
  }
  if (!seenUsers.has(sender.userId)) throw new TypeError("the sender's own device list must be among the recipients (its other devices get the message too)")
  if (!senderListed) throw new E2eeError('unknown_device', "the sending device is not in its user's signed device list")
  recipients.sort(compareAddresses)

  // A copy, so that zeroing it after use never touches the caller's bytes.
  const contentKey = draw(KEY_BYTES).slice()
  const nonce = draw(NONCE_BYTES)
  try {
    const header: EnvelopeHeader = {
      v: ENVELOPE_VERSION,
      conversationId,
      messageId,
      sender: { userId: sender.userId, deviceId: sender.device.deviceId },
      counter,
      sentAt,
      recipients,
      keyCommitment: toB64(s, keyCommitment(s, contentKey))
    }
    const headerBytes = utf8(s, canonicalJson(header))
    const body = typeof input.plaintext === 'string' ? utf8(s, input.plaintext) : input.plaintext
    const ciphertext = s.crypto_aead_xchacha20poly1305_ietf_encrypt(pad(body), headerBytes, null, nonce, contentKey)
    const digest = wrapDigest(s, headerBytes, nonce, ciphertext)
    const keyAndDigest = concatBytes(contentKey, digest)
    const wraps = recipients.map((r) => {
      const wrapNonce = draw(NONCE_BYTES)
      const boxKey = boxKeys.get(addressKey(r.userId, r.deviceId)) as Uint8Array
      return toB64(s, concatBytes(wrapNonce, s.crypto_box_easy(keyAndDigest, wrapNonce, boxKey, sender.device.box.secretKey)))
    })
    s.memzero(keyAndDigest)
    const signature = s.crypto_sign_detached(signedBytes(s, headerBytes, nonce, ciphertext), sender.device.sign.secretKey)
    const envelope: Envelope = {
      v: ENVELOPE_VERSION,
      header,
      nonce: toB64(s, nonce),
      ciphertext: toB64(s, ciphertext),
      wraps,
      signature: toB64(s, signature)
    }
    const size = utf8(s, JSON.stringify(envelope)).length
    if (size > MAX_ENVELOPE_BYTES) {
      throw new E2eeError('too_large', `the envelope is ${size} bytes, over the ${MAX_ENVELOPE_BYTES}-byte limit of a message body`)
    }
    return envelope
  } finally {
    s.memzero(contentKey)
  }
}

export interface OpenOptions {
  /** The conversation the message arrived in (not what its header says). */
  conversationId: string
  /** The id the message arrived with, if known: must match the header. */
  messageId?: string
  /** The sender the server delivered it from, if known: must match the header. */
  senderId?: string
  /** The receiving user and this device's keys. */
  recipient: { userId: string, device: DeviceKeyPair }
  /** The sender's signed device list, from the key directory (or a cache of it). */
  lookupSender: (userId: string) => SignedDeviceList | undefined | Promise<SignedDeviceList | undefined>
  /** The account key the receiver trusts for a user (pinned or verified), if any. */
  trustedAccountKey?: TrustedAccountKey
  replayStore: ReplayStore
}

export interface OpenedEnvelope {
  header: EnvelopeHeader
  plaintext: Uint8Array
  /** The sender, as authenticated by the key chain. */
  sender: { userId: string, deviceId: string, accountKey: string }
}

/**
 * Opens an envelope, or throws an E2eeError naming the first check that
 * failed, in this order: shape and version (bad_envelope,
 * unsupported_version); key chain account key -> signed device list ->
 * sending device (bad_device_list, account_key_changed, unknown_device); the
 * device's signature (bad_signature); that the authenticated header matches
 * where the message arrived (wrong_conversation, wrong_sender,
 * wrong_message); that this device is a recipient (not_a_recipient); its wrap
 * (bad_wrap) and the key commitment (bad_key_commitment); the body
 * (bad_ciphertext); and last, once all of that held, that (sender device,
 * message id) is new (replay).
 */
export async function openEnvelope (value: unknown, options: OpenOptions): Promise<OpenedEnvelope> {
  const s = await getSodium()
  const parsed = parseEnvelope(s, value)
  const { header } = parsed

  const signed = await options.lookupSender(header.sender.userId)
  if (signed === undefined) throw new E2eeError('unknown_device', `no device list for sender ${header.sender.userId}`)
  const list = await checkedDeviceList(signed, header.sender.userId, options.trustedAccountKey)
  const device = list.deviceList.devices.find((d) => d.deviceId === header.sender.deviceId)
  if (device === undefined) throw new E2eeError('unknown_device', `device ${header.sender.deviceId} is not in the signed device list of ${header.sender.userId}`)
  const senderSignKey = fromB64(s, device.signPublicKey, KEY_BYTES) as Uint8Array
  const senderBoxKey = fromB64(s, device.boxPublicKey, KEY_BYTES) as Uint8Array

  let good = false
  try {
    good = s.crypto_sign_verify_detached(parsed.signature, signedBytes(s, parsed.headerBytes, parsed.nonce, parsed.ciphertext), senderSignKey)
  } catch {
    good = false
  }
  if (!good) throw new E2eeError('bad_signature', "the sender device's signature does not verify")

  if (header.conversationId !== options.conversationId) {
    throw new E2eeError('wrong_conversation', `the message is for conversation ${header.conversationId}, not ${options.conversationId}`)
  }
  if (options.senderId !== undefined && header.sender.userId !== options.senderId) {
    throw new E2eeError('wrong_sender', `the message is signed by ${header.sender.userId}, delivered as from ${options.senderId}`)
  }
  if (options.messageId !== undefined && header.messageId !== options.messageId) {
    throw new E2eeError('wrong_message', `the header's message id ${header.messageId} is not ${options.messageId}`)
  }

  const me = options.recipient
  const index = header.recipients.findIndex((r) => r.userId === me.userId && r.deviceId === me.device.deviceId)
  if (index < 0) throw new E2eeError('not_a_recipient', `device ${me.device.deviceId} of ${me.userId} is not a recipient`)

  const wrap = parsed.wraps[index] as Uint8Array
  let keyAndDigest: Uint8Array
  try {
    keyAndDigest = s.crypto_box_open_easy(wrap.subarray(NONCE_BYTES), wrap.subarray(0, NONCE_BYTES), senderBoxKey, me.device.box.secretKey)
  } catch {
    throw new E2eeError('bad_wrap', 'the wrap of the content key does not open with the sender device\'s box key')
  }
  const contentKey = keyAndDigest.subarray(0, KEY_BYTES)
  try {
    if (!s.memcmp(keyAndDigest.subarray(KEY_BYTES), wrapDigest(s, parsed.headerBytes, parsed.nonce, parsed.ciphertext))) {
      throw new E2eeError('bad_wrap', 'the wrap belongs to another header or ciphertext')
    }
    if (!s.memcmp(keyCommitment(s, contentKey), parsed.keyCommitment)) {
      throw new E2eeError('bad_key_commitment', 'the wrapped content key is not the one the header commits to')
    }
    let padded: Uint8Array
    try {
      padded = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, parsed.ciphertext, parsed.headerBytes, parsed.nonce, contentKey)
    } catch {
      throw new E2eeError('bad_ciphertext', 'the body does not decrypt under the content key and header')
    }
    const plaintext = unpad(padded)
    if (plaintext === undefined) throw new E2eeError('bad_ciphertext', 'the body\'s padding is malformed')

    const fresh = await options.replayStore.claim({ senderUserId: header.sender.userId, senderDeviceId: header.sender.deviceId, messageId: header.messageId })
    if (!fresh) throw new E2eeError('replay', `message ${header.messageId} from device ${header.sender.deviceId} was opened before`)
    return {
      header,
      plaintext: plaintext.slice(),
      sender: { userId: header.sender.userId, deviceId: header.sender.deviceId, accountKey: list.accountKey }
    }
  } finally {
    s.memzero(keyAndDigest)
  }
}

export interface Receiver {
  readonly replayStore: ReplayStore
  open: (envelope: unknown, arrival: { conversationId: string, messageId?: string, senderId?: string }) => Promise<OpenedEnvelope>
}

/**
 * One receiving device: its keys, where sender device lists come from, and
 * its replay store (in memory unless one is given). Keep one per device for
 * as long as the device runs, so a replay is caught across conversations.
 */
export function createReceiver (config: {
  userId: string
  device: DeviceKeyPair
  lookupSender: OpenOptions['lookupSender']
  trustedAccountKey?: TrustedAccountKey
  replayStore?: ReplayStore
}): Receiver {
  const replayStore = config.replayStore ?? new MemoryReplayStore()
  return {
    replayStore,
    open: async (envelope, arrival) => await openEnvelope(envelope, {
      ...arrival,
      recipient: { userId: config.userId, device: config.device },
      lookupSender: config.lookupSender,
      trustedAccountKey: config.trustedAccountKey,
      replayStore
    })
  }
}

/** The unauthenticated sender named in an envelope, to fetch their device list before opening. */
export function envelopeSender (value: unknown): EnvelopeAddress | undefined {
  if (!isPlainObject(value) || !isPlainObject(value.header) || !isPlainObject(value.header.sender)) return undefined
  const { userId, deviceId } = value.header.sender
  return typeof userId === 'string' && typeof deviceId === 'string' ? { userId, deviceId } : undefined
}

// ---------------------------------------------------------------------------

interface ParsedEnvelope {
  header: EnvelopeHeader
  headerBytes: Uint8Array
  keyCommitment: Uint8Array
  nonce: Uint8Array
  ciphertext: Uint8Array
  wraps: Uint8Array[]
  signature: Uint8Array
}

function parseEnvelope (s: Sodium, value: unknown): ParsedEnvelope {
  const bad = (why: string): never => { throw new E2eeError('bad_envelope', why) }
  if (!isPlainObject(value)) return bad('not a JSON object')
  if (value.v !== ENVELOPE_VERSION) {
    if (typeof value.v === 'number' && Number.isSafeInteger(value.v)) throw new E2eeError('unsupported_version', `envelope version ${value.v} (this library opens ${ENVELOPE_VERSION})`)
    return bad('no envelope version')
  }
  exactKeys(value, ['v', 'header', 'nonce', 'ciphertext', 'wraps', 'signature'], '', bad)
  const h = value.header
  if (!isPlainObject(h)) return bad('header is not an object')
  exactKeys(h, ['v', 'conversationId', 'messageId', 'sender', 'counter', 'sentAt', 'recipients', 'keyCommitment'], 'header.', bad)
  if (h.v !== ENVELOPE_VERSION) bad('header.v differs from the envelope version')
  if (typeof h.conversationId !== 'string' || !CONVERSATION_ID.test(h.conversationId)) bad('header.conversationId is malformed')
  if (typeof h.messageId !== 'string' || !UUID.test(h.messageId)) bad('header.messageId is not a UUID')
  if (!isAddress(h.sender)) bad('header.sender is not {userId, deviceId}')
  if (typeof h.counter !== 'number' || !Number.isSafeInteger(h.counter) || h.counter < 0) bad('header.counter is not a safe integer >= 0')
  if (typeof h.sentAt !== 'string' || !DATE_TIME.test(h.sentAt) || Number.isNaN(Date.parse(h.sentAt))) bad('header.sentAt is not an RFC 3339 date-time')
  const recipients = h.recipients
  if (!Array.isArray(recipients)) return bad('header.recipients is not a list')
  for (const [i, r] of recipients.entries()) {
    if (!isAddress(r)) bad(`header.recipients[${i}] is not {userId, deviceId}`)
    // Strictly increasing: one canonical order, and no device twice.
    if (i > 0 && compareAddresses(recipients[i - 1] as EnvelopeAddress, r as EnvelopeAddress) >= 0) bad('header.recipients are not sorted and unique')
  }
  const keyCommitment = fromB64(s, h.keyCommitment, DIGEST_BYTES) ?? bad('header.keyCommitment is not 32 bytes of base64url')
  const nonce = fromB64(s, value.nonce, NONCE_BYTES) ?? bad('nonce is not 24 bytes of base64url')
  const ciphertext = fromB64(s, value.ciphertext) ?? bad('ciphertext is not base64url')
  if (ciphertext.length <= MAC_BYTES) bad('ciphertext is too short')
  const signature = fromB64(s, value.signature, 64) ?? bad('signature is not 64 bytes of base64url')
  const wrapsIn = value.wraps
  if (!Array.isArray(wrapsIn) || wrapsIn.length !== recipients.length) return bad('wraps do not match header.recipients one to one')
  const wraps = wrapsIn.map((w: unknown, i) => fromB64(s, w, WRAP_BYTES) ?? bad(`wraps[${i}] is not ${WRAP_BYTES} bytes of base64url`))
  const header = h as EnvelopeHeader
  return { header, headerBytes: utf8(s, canonicalJson(header)), keyCommitment, nonce, ciphertext, wraps, signature }
}

function exactKeys (obj: Record<string, unknown>, keys: readonly string[], prefix: string, bad: (why: string) => never): void {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) bad(`unexpected field ${prefix}${k}`)
  for (const k of keys) if (obj[k] === undefined) bad(`missing field ${prefix}${k}`)
}

function isAddress (v: unknown): v is EnvelopeAddress {
  return isPlainObject(v) && Object.keys(v).length === 2 &&
    typeof v.userId === 'string' && UUID.test(v.userId) &&
    typeof v.deviceId === 'string' && DEVICE_ID.test(v.deviceId)
}

function compareAddresses (a: EnvelopeAddress, b: EnvelopeAddress): number {
  if (a.userId !== b.userId) return a.userId < b.userId ? -1 : 1
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1
  return 0
}

function addressKey (userId: string, deviceId: string): string {
  return `${userId}/${deviceId}`
}

/** Verifies a signed device list as the list of `userId`, against a trusted account key if there is one. */
async function checkedDeviceList (signed: SignedDeviceList, userId: string | undefined, trusted: TrustedAccountKey | undefined): Promise<SignedDeviceList> {
  const result = await verifySignedDeviceList(signed)
  if (!result.ok) throw new E2eeError('bad_device_list', `the device list of ${userId ?? 'a user'} does not verify: ${result.reason}`)
  if (signed.deviceList.userId !== userId) throw new E2eeError('bad_device_list', `the device list is for ${signed.deviceList.userId}, not ${userId ?? '?'}`)
  const pinned = trusted === undefined ? undefined : await trusted(signed.deviceList.userId)
  if (pinned !== undefined && pinned !== signed.accountKey) {
    throw new E2eeError('account_key_changed', `the account key of ${signed.deviceList.userId} is not the one trusted for them`)
  }
  return signed
}

function sameKeys (s: Sodium, listed: Device, device: DeviceKeyPair): boolean {
  return listed.signPublicKey === toB64(s, device.sign.publicKey) && listed.boxPublicKey === toB64(s, device.box.publicKey)
}

/** Length-prefixed concatenation: no two different part lists give the same bytes. */
function transcript (s: Sodium, context: string, ...parts: Uint8Array[]): Uint8Array {
  const all = [utf8(s, context), ...parts]
  const framed: Uint8Array[] = []
  for (const p of all) {
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, p.length, false)
    framed.push(len, p)
  }
  return concatBytes(...framed)
}

function signedBytes (s: Sodium, headerBytes: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return transcript(s, SIGNATURE_CONTEXT, headerBytes, nonce, ciphertext)
}

function wrapDigest (s: Sodium, headerBytes: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return s.crypto_generichash(DIGEST_BYTES, transcript(s, WRAP_DIGEST_CONTEXT, headerBytes, nonce, ciphertext), null)
}

/** BLAKE2b-256 keyed with the content key over a fixed context: commits to the key, reveals nothing of it. */
function keyCommitment (s: Sodium, contentKey: Uint8Array): Uint8Array {
  return s.crypto_generichash(DIGEST_BYTES, utf8(s, KEY_COMMITMENT_CONTEXT), contentKey)
}
