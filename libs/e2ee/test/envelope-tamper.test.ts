import t from 'tap'
import sodium from 'libsodium-wrappers'
import type { SignedDeviceList } from '@metadome/contracts'
import {
  canonicalJson, openEnvelope, sealEnvelope, signDeviceList, generateAccountKey, generateDeviceKeys, publicDevice,
  MemoryReplayStore, type Envelope, type EnvelopeHeader, type DeviceKeyPair, type E2eeErrorCode
} from '@metadome/e2ee'
import { b64, directoryOf, makeUser, rejectsWith, unb64, USER_IDS } from './helper.js'

// One test per attack (the @fastify/jwt habit): each tampered message is
// refused with the code of the check that catches it. The check order is
// shape, key chain, signature, where it arrived, recipient, wrap, key
// commitment, body, replay, so a tamper is named by the first check it fails.

await sodium.ready
const alice = await makeUser('alice', USER_IDS.alice, 2)
const bob = await makeUser('bob', USER_IDS.bob, 1)
const mallory = await makeUser('mallory', USER_IDS.mallory, 1)
const conversationId = `dm_${alice.userId}_${bob.userId}`
const messageId = '6d657461-646f-4d65-8000-0000000000aa'
const directory = directoryOf(alice, bob, mallory)

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

async function sealed (): Promise<Envelope> {
  return await sealEnvelope({
    conversationId, messageId, counter: 3, sentAt: '2025-01-02T03:04:05.000Z',
    sender: { userId: alice.userId, device: alice.devices[0]! },
    recipients: [alice.signed, bob.signed],
    plaintext: 'meet at noon'
  })
}

async function bobOpens (envelope: unknown, options: { conversationId?: string, lookupSender?: (userId: string) => SignedDeviceList | undefined, replayStore?: MemoryReplayStore, trustedAccountKey?: (userId: string) => string | undefined, senderId?: string, messageId?: string, device?: DeviceKeyPair } = {}): Promise<string> {
  const opened = await openEnvelope(envelope, {
    conversationId: options.conversationId ?? conversationId,
    senderId: options.senderId,
    messageId: options.messageId,
    recipient: { userId: bob.userId, device: options.device ?? bob.devices[0]! },
    lookupSender: options.lookupSender ?? directory,
    trustedAccountKey: options.trustedAccountKey,
    replayStore: options.replayStore ?? new MemoryReplayStore()
  })
  return new TextDecoder().decode(opened.plaintext)
}

function flip (text: string, at = 10): string {
  const bytes = unb64(text)
  bytes[at % bytes.length] = bytes[at % bytes.length]! ^ 0x01
  return b64(bytes)
}

t.test('the untouched message opens (the baseline of every test below)', async (t) => {
  t.equal(await bobOpens(await sealed()), 'meet at noon')
})

t.test('a changed header is refused: bad_signature', async (t) => {
  for (const [field, change] of [
    ['sentAt', (h: EnvelopeHeader) => { h.sentAt = '2025-01-02T03:04:06.000Z' }],
    ['counter', (h: EnvelopeHeader) => { h.counter = 4 }],
    ['messageId', (h: EnvelopeHeader) => { h.messageId = '6d657461-646f-4d65-8000-0000000000ab' }],
    ['sender', (h: EnvelopeHeader) => { h.sender = { userId: alice.userId, deviceId: 'alice-2' } }],
    ['keyCommitment', (h: EnvelopeHeader) => { h.keyCommitment = flip(h.keyCommitment) }]
  ] as const) {
    const envelope = clone(await sealed())
    change(envelope.header)
    await rejectsWith(t, bobOpens(envelope), 'bad_signature', `header.${field}`)
  }
})

t.test('a changed body is refused: bad_signature', async (t) => {
  const envelope = clone(await sealed())
  envelope.ciphertext = flip(envelope.ciphertext, 100)
  await rejectsWith(t, bobOpens(envelope), 'bad_signature', 'ciphertext')
  const renonced = clone(await sealed())
  renonced.nonce = flip(renonced.nonce)
  await rejectsWith(t, bobOpens(renonced), 'bad_signature', 'nonce')
})

t.test("a changed wrap is refused: bad_wrap", async (t) => {
  const envelope = clone(await sealed())
  const index = envelope.header.recipients.findIndex((r) => r.deviceId === 'bob-1')
  envelope.wraps[index] = flip(envelope.wraps[index]!, 40)
  await rejectsWith(t, bobOpens(envelope), 'bad_wrap', 'a flipped bit')
  // A genuine wrap for Bob from another of Alice's messages opens, but is
  // bound to that message's header and ciphertext.
  const other = await sealed()
  const moved = clone(await sealed())
  moved.wraps[index] = other.wraps[index]!
  const err = await rejectsWith(t, bobOpens(moved), 'bad_wrap', "another message's wrap")
  t.match(err?.message, /another header or ciphertext/)
})

t.test('a changed signature is refused: bad_signature', async (t) => {
  const envelope = clone(await sealed())
  envelope.signature = flip(envelope.signature, 5)
  await rejectsWith(t, bobOpens(envelope), 'bad_signature', 'a flipped bit')
  const reSigned = clone(await sealed())
  reSigned.signature = b64(sodium.crypto_sign_detached(sodium.from_string('anything'), alice.devices[0]!.sign.secretKey))
  await rejectsWith(t, bobOpens(reSigned), 'bad_signature', "Alice's signature over something else")
})

t.test('a changed recipient list is refused: bad_signature', async (t) => {
  const envelope = await sealed()
  // Mallory adds her device (with a wrap slot, so the shape holds) ...
  const added = clone(envelope)
  added.header.recipients.push({ userId: mallory.userId, deviceId: 'mallory-1' })
  added.wraps.push(added.wraps[0]!)
  await rejectsWith(t, bobOpens(added), 'bad_signature', 'a device added')
  // ... or drops Alice's other device.
  const dropped = clone(envelope)
  dropped.header.recipients.splice(0, 1)
  dropped.wraps.splice(0, 1)
  await rejectsWith(t, bobOpens(dropped), 'bad_signature', 'a device dropped')
})

t.test('a replayed message is refused: replay', async (t) => {
  const envelope = await sealed()
  const replayStore = new MemoryReplayStore()
  t.equal(await bobOpens(envelope, { replayStore }), 'meet at noon')
  await rejectsWith(t, bobOpens(clone(envelope), { replayStore }), 'replay', 'the same envelope again')
  // Re-sealing the same message id from the same device is a replay too, even with new randomness.
  await rejectsWith(t, bobOpens(await sealed(), { replayStore }), 'replay', 'the same (device, message id), new ciphertext')
  // What failed a check is not recorded: a tampered copy does not burn the id.
  const fresh = new MemoryReplayStore()
  const tampered = clone(envelope)
  tampered.signature = flip(tampered.signature)
  await rejectsWith(t, bobOpens(tampered, { replayStore: fresh }), 'bad_signature')
  t.equal(await bobOpens(envelope, { replayStore: fresh }), 'meet at noon')
})

t.test('a message moved into another conversation is refused: wrong_conversation', async (t) => {
  const envelope = await sealed()
  const group = '9c0f7a52-3b1e-4d2a-9f6b-1a2b3c4d5e6f'
  await rejectsWith(t, bobOpens(envelope, { conversationId: group }), 'wrong_conversation', 'delivered in a group')
  // Rewriting the header's conversation to match breaks the signature instead.
  const rewritten = clone(envelope)
  rewritten.header.conversationId = group
  await rejectsWith(t, bobOpens(rewritten, { conversationId: group }), 'bad_signature', 'header rewritten to match')
})

t.test("a device key swapped in the directory without the account key's signature is refused: bad_device_list", async (t) => {
  // Mallory controls the directory: she puts her own device keys in Alice's
  // list, under Alice's device id, and leaves Alice's signature as it was.
  const evil = await generateDeviceKeys({ deviceId: 'alice-1' })
  const forgedList: SignedDeviceList = clone(alice.signed)
  forgedList.deviceList.devices[0] = await publicDevice(evil)
  const forgedDirectory = (userId: string): SignedDeviceList | undefined => userId === alice.userId ? forgedList : directory(userId)
  // A message she signs as Alice's device does not get past the key chain ...
  const forged = await sealEnvelope({
    conversationId, messageId, counter: 1,
    sender: { userId: alice.userId, device: evil },
    recipients: [forgedList, bob.signed],
    plaintext: 'send me your password'
  }).catch((err: unknown) => err)
  t.equal((forged as { code?: string }).code, 'bad_device_list', 'the library will not even seal with the forged list')
  const viaBypass = await forgeEnvelope({ senderUserId: alice.userId, senderDevice: evil, recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'send me your password' })
  await rejectsWith(t, bobOpens(viaBypass, { lookupSender: forgedDirectory }), 'bad_device_list', 'opening her message')
  // ... and nobody seals for her key: Bob writing to Alice refuses the list.
  await rejectsWith(t, sealEnvelope({
    conversationId, messageId, counter: 1,
    sender: { userId: bob.userId, device: bob.devices[0]! },
    recipients: [bob.signed, forgedList],
    plaintext: 'my password is ...'
  }), 'bad_device_list', 'sealing to the forged list')
  // Against the genuine directory her message names a device whose key does not match: bad_signature.
  await rejectsWith(t, bobOpens(viaBypass), 'bad_signature', 'her key under a genuine list')
})

t.test('a list re-signed by another account key is refused where the old key is trusted: account_key_changed', async (t) => {
  const newAccount = await generateAccountKey()
  const evil = await generateDeviceKeys({ deviceId: 'alice-1' })
  const reSigned = await signDeviceList(newAccount.secretKey, { ...alice.signed.deviceList, version: 2, devices: [await publicDevice(evil)] })
  const trustedAccountKey = (userId: string): string | undefined => userId === alice.userId ? alice.signed.accountKey : undefined
  const envelope = await forgeEnvelope({ senderUserId: alice.userId, senderDevice: evil, recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'trust me' })
  const lookupSender = (userId: string): SignedDeviceList | undefined => userId === alice.userId ? reSigned : directory(userId)
  await rejectsWith(t, bobOpens(envelope, { lookupSender, trustedAccountKey }), 'account_key_changed', 'opening')
  await rejectsWith(t, sealEnvelope({
    conversationId, messageId, counter: 1, sender: { userId: bob.userId, device: bob.devices[0]! },
    recipients: [bob.signed, reSigned], trustedAccountKey, plaintext: 'x'
  }), 'account_key_changed', 'sealing')
  // Without a pinned key the new list is accepted (trust on first use is the caller's decision).
  t.equal(await bobOpens(envelope, { lookupSender }), 'trust me')
})

t.test("a sender's device missing from its list, or no list at all: unknown_device", async (t) => {
  const stray = await generateDeviceKeys({ deviceId: 'alice-9' })
  const envelope = await forgeEnvelope({ senderUserId: alice.userId, senderDevice: stray, recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'x' })
  await rejectsWith(t, bobOpens(envelope), 'unknown_device', 'device not listed')
  await rejectsWith(t, bobOpens(await sealed(), { lookupSender: () => undefined }), 'unknown_device', 'no list')
  // A list served for the wrong user is a bad list, not a match.
  await rejectsWith(t, bobOpens(await sealed(), { lookupSender: () => mallory.signed }), 'bad_device_list', "someone else's list")
})

t.test('a device the message was not sealed for: not_a_recipient', async (t) => {
  // Bob adds a phone after the message was sent; the phone is not a recipient.
  const phone = await generateDeviceKeys({ deviceId: 'bob-2' })
  await rejectsWith(t, bobOpens(await sealed(), { device: phone }), 'not_a_recipient')
})

t.test('what the server says and what the sender signed must agree: wrong_sender, wrong_message', async (t) => {
  const envelope = await sealed()
  await rejectsWith(t, bobOpens(envelope, { senderId: mallory.userId }), 'wrong_sender')
  await rejectsWith(t, bobOpens(envelope, { messageId: '6d657461-646f-4d65-8000-0000000000ff' }), 'wrong_message')
  t.equal(await bobOpens(envelope, { senderId: alice.userId, messageId }), 'meet at noon')
})

t.test('a malicious sender cannot show recipients different plaintexts: bad_key_commitment', async (t) => {
  // Alice's own (compromised) device signs a header committing to key A but
  // wraps key B for Bob: without the commitment Bob could read a message
  // other recipients never see.
  const envelope = await forgeEnvelope({
    senderUserId: alice.userId, senderDevice: alice.devices[0]!,
    recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'for Bob only',
    committedKey: new Uint8Array(32).fill(7)
  })
  await rejectsWith(t, bobOpens(envelope), 'bad_key_commitment')
})

t.test('a signed body that does not decrypt, or has broken padding: bad_ciphertext', async (t) => {
  const wrongAd = await forgeEnvelope({ senderUserId: alice.userId, senderDevice: alice.devices[0]!, recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'x', associatedData: new Uint8Array(0) })
  await rejectsWith(t, bobOpens(wrongAd), 'bad_ciphertext', 'sealed without the header as associated data')
  const unpadded = await forgeEnvelope({ senderUserId: alice.userId, senderDevice: alice.devices[0]!, recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'x', padded: new Uint8Array(256) })
  await rejectsWith(t, bobOpens(unpadded), 'bad_ciphertext', 'no padding marker')
  // The forger itself is right: with honest choices its envelope opens.
  const honest = await forgeEnvelope({ senderUserId: alice.userId, senderDevice: alice.devices[0]!, recipients: [{ userId: bob.userId, device: bob.devices[0]! }], plaintext: 'independently built' })
  t.equal(await bobOpens(honest), 'independently built')
})

t.test('malformed envelopes: bad_envelope; other versions: unsupported_version', async (t) => {
  const envelope = await sealed()
  const cases: Array<[string, (e: Record<string, unknown> & Envelope) => unknown, E2eeErrorCode]> = [
    ['not an object', () => 'x', 'bad_envelope'],
    ['no version', (e) => ({ ...e, v: undefined }), 'bad_envelope'],
    ['version 2', (e) => ({ ...e, v: 2 }), 'unsupported_version'],
    ['header version 2', (e) => ({ ...e, header: { ...e.header, v: 2 } }), 'bad_envelope'],
    ['an extra field', (e) => ({ ...e, note: 'hi' }), 'bad_envelope'],
    ['an extra header field', (e) => ({ ...e, header: { ...e.header, note: 'hi' } }), 'bad_envelope'],
    ['unsorted recipients', (e) => ({ ...e, header: { ...e.header, recipients: [...e.header.recipients].reverse() } }), 'bad_envelope'],
    ['a repeated recipient', (e) => ({ ...e, header: { ...e.header, recipients: [e.header.recipients[0], e.header.recipients[0]] } }), 'bad_envelope'],
    ['one wrap too few', (e) => ({ ...e, wraps: e.wraps.slice(1) }), 'bad_envelope'],
    ['a short wrap', (e) => ({ ...e, wraps: [b64(new Uint8Array(10)), ...e.wraps.slice(1)] }), 'bad_envelope'],
    ['padded base64', (e) => ({ ...e, signature: e.signature + '==' }), 'bad_envelope'],
    ['a fractional counter', (e) => ({ ...e, header: { ...e.header, counter: 1.5 } }), 'bad_envelope'],
    ['a bad date', (e) => ({ ...e, header: { ...e.header, sentAt: 'noon' } }), 'bad_envelope'],
    ['a short nonce', (e) => ({ ...e, nonce: b64(new Uint8Array(12)) }), 'bad_envelope'],
    ['an empty ciphertext', (e) => ({ ...e, ciphertext: '' }), 'bad_envelope']
  ]
  for (const [name, change, code] of cases) {
    await rejectsWith(t, bobOpens(change(clone(envelope) as Record<string, unknown> & Envelope)), code, name)
  }
})

// An independent implementation of the v1 format, as documented in
// src/envelope.ts, that lets a test play a sender who breaks the rules.
async function forgeEnvelope (spec: {
  senderUserId: string
  senderDevice: DeviceKeyPair
  recipients: Array<{ userId: string, device: DeviceKeyPair }>
  plaintext: string
  committedKey?: Uint8Array
  associatedData?: Uint8Array
  padded?: Uint8Array
}): Promise<Envelope> {
  const contentKey = sodium.crypto_aead_xchacha20poly1305_ietf_keygen()
  const nonce = sodium.randombytes_buf(24)
  const recipients = spec.recipients.map((r) => ({ userId: r.userId, deviceId: r.device.deviceId }))
  const header: EnvelopeHeader = {
    v: 1, conversationId, messageId: crypto.randomUUID(),
    sender: { userId: spec.senderUserId, deviceId: spec.senderDevice.deviceId },
    counter: 1, sentAt: '2025-01-02T03:04:05.000Z', recipients,
    keyCommitment: b64(sodium.crypto_generichash(32, sodium.from_string('metadome envelope v1 key commitment\n'), spec.committedKey ?? contentKey))
  }
  const headerBytes = sodium.from_string(canonicalJson(header))
  let padded = spec.padded
  if (padded === undefined) {
    padded = new Uint8Array(256)
    const body = sodium.from_string(spec.plaintext)
    padded.set(body)
    padded[body.length] = 0x80
  }
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, spec.associatedData ?? headerBytes, null, nonce, contentKey)
  const framed = (context: string): Uint8Array => {
    const parts = [sodium.from_string(context), headerBytes, nonce, ciphertext]
    const out: number[] = []
    for (const p of parts) out.push((p.length >>> 24) & 255, (p.length >>> 16) & 255, (p.length >>> 8) & 255, p.length & 255, ...p)
    return new Uint8Array(out)
  }
  const digest = sodium.crypto_generichash(32, framed('metadome envelope v1 wrap digest\n'), null)
  const wraps = spec.recipients.map((r) => {
    const wrapNonce = sodium.randombytes_buf(24)
    const keyAndDigest = new Uint8Array([...contentKey, ...digest])
    return b64(new Uint8Array([...wrapNonce, ...sodium.crypto_box_easy(keyAndDigest, wrapNonce, r.device.box.publicKey, spec.senderDevice.box.secretKey)]))
  })
  const signature = sodium.crypto_sign_detached(framed('metadome envelope v1 signature\n'), spec.senderDevice.sign.secretKey)
  return { v: 1, header, nonce: b64(nonce), ciphertext: b64(ciphertext), wraps, signature: b64(signature) }
}
