import t from 'tap'
import sodium from 'libsodium-wrappers'
import { safetyNumber, formatSafetyNumber, numericFingerprint, fingerprintDigits, type SafetyNumberParty } from '@metadome/e2ee'
import { b64, fixedBytes, USER_IDS } from './helper.js'

await sodium.ready
const key = (label: string): string => b64(sodium.crypto_sign_seed_keypair(fixedBytes(label)).publicKey)
const alice: SafetyNumberParty = { userId: USER_IDS.alice, accountKey: key('alice account') }
const bob: SafetyNumberParty = { userId: USER_IDS.bob, accountKey: key('bob account') }

t.test('both sides compute the same 60 digits', async (t) => {
  const ab = await safetyNumber(alice, bob)
  t.match(ab, /^\d{60}$/)
  t.equal(await safetyNumber(bob, alice), ab)
})

t.test('a changed account key or user changes the number', async (t) => {
  const ab = await safetyNumber(alice, bob)
  t.not(await safetyNumber(alice, { ...bob, accountKey: key('mallory account') }), ab)
  t.not(await safetyNumber(alice, { ...bob, userId: USER_IDS.mallory }), ab)
  // Only the other half changes: the user's own 30 digits stay.
  const mine = await fingerprintDigits(new Uint8Array([5, ...sodium.from_base64(alice.accountKey, sodium.base64_variants.URLSAFE_NO_PADDING)]),
    sodium.from_hex(alice.userId.replace(/-/g, '')))
  t.ok(ab.includes(mine))
  t.ok((await safetyNumber(alice, { ...bob, accountKey: key('mallory account') })).includes(mine))
})

t.test('the user id is taken as its 16 UUID bytes, so its case does not matter', async (t) => {
  t.equal(await safetyNumber({ ...alice, userId: alice.userId.toUpperCase() }, bob), await safetyNumber(alice, bob))
  await t.rejects(safetyNumber({ ...alice, userId: 'alice' }, bob), /UUID/)
  await t.rejects(safetyNumber({ ...alice, accountKey: 'short' }, bob), /accountKey/)
})

t.test('it is Signal\'s generator with 0x05 || account key as the identity key', async (t) => {
  const raw = (p: typeof alice): { identityKey: Uint8Array, stableId: Uint8Array } => ({
    identityKey: new Uint8Array([5, ...sodium.from_base64(p.accountKey, sodium.base64_variants.URLSAFE_NO_PADDING)]),
    stableId: sodium.from_hex(p.userId.replace(/-/g, ''))
  })
  t.equal(await numericFingerprint(raw(alice), raw(bob)), await safetyNumber(alice, bob))
  await t.rejects(numericFingerprint(raw(alice), raw(bob), 1), /iterations/)
})

t.test('shown as twelve groups of five digits', async (t) => {
  t.equal(formatSafetyNumber('123456789012345678901234567890123456789012345678901234567890'),
    '12345 67890 12345 67890 12345 67890 12345 67890 12345 67890 12345 67890')
})
