import t from 'tap'
import sodium from 'libsodium-wrappers'
import { DEVICE_LIST_CONTEXT, type DeviceList } from '@metadome/contracts'
import { canonicalJson, signDeviceList, verifySignedDeviceList } from '@metadome/e2ee'

await sodium.ready
const B64 = sodium.base64_variants.URLSAFE_NO_PADDING
const b64 = (b: Uint8Array): string => sodium.to_base64(b, B64)
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)

const account = sodium.crypto_sign_seed_keypair(seed(1))
const list: DeviceList = {
  userId: '0b7f2a5e-9c1d-4e8a-b3f6-2d4c5e6f7a8b',
  version: 1,
  issuedAt: '2025-01-02T03:04:05.000Z',
  devices: [{
    deviceId: 'laptop',
    signPublicKey: b64(sodium.crypto_sign_seed_keypair(seed(2)).publicKey),
    boxPublicKey: b64(sodium.crypto_box_seed_keypair(seed(3)).publicKey)
  }]
}

t.test('a signed device list verifies, and its signature is over the context and canonical JSON', async (t) => {
  const signed = await signDeviceList(account.privateKey, list)
  t.equal(signed.accountKey, b64(account.publicKey))
  t.match(signed.signature, /^[A-Za-z0-9_-]{86}$/)
  t.same(await verifySignedDeviceList(signed), { ok: true })
  const message = sodium.from_string(DEVICE_LIST_CONTEXT + canonicalJson(list))
  t.ok(sodium.crypto_sign_verify_detached(sodium.from_base64(signed.signature, B64), message, account.publicKey))
  // The key order of the object handed in does not matter.
  const reordered = { devices: list.devices, issuedAt: list.issuedAt, version: 1, userId: list.userId }
  t.equal((await signDeviceList(account.privateKey, reordered)).signature, signed.signature)
  // It survives the JSON round trip of the wire.
  t.same(await verifySignedDeviceList(JSON.parse(JSON.stringify(signed))), { ok: true })
})

t.test('any change to a signed list is refused', async (t) => {
  const signed = await signDeviceList(account.privateKey, list)
  const other = sodium.crypto_sign_seed_keypair(seed(9))
  const device = list.devices[0]!
  const cases: Record<string, unknown> = {
    'a device key swapped': { ...signed, deviceList: { ...list, devices: [{ ...device, signPublicKey: b64(other.publicKey) }] } },
    'a device added': { ...signed, deviceList: { ...list, devices: [...list.devices, { deviceId: 'phone', signPublicKey: b64(seed(7)), boxPublicKey: b64(seed(8)) }] } },
    'the version changed': { ...signed, deviceList: { ...list, version: 2 } },
    'the user changed': { ...signed, deviceList: { ...list, userId: '11111111-2222-4333-8444-555555555555' } },
    'another account key': { ...signed, accountKey: b64(other.publicKey) },
    'a signature by another key': { ...signed, accountKey: b64(other.publicKey), signature: b64(sodium.crypto_sign_detached(sodium.from_string('x'), other.privateKey)) }
  }
  for (const [name, value] of Object.entries(cases)) {
    const r = await verifySignedDeviceList(value)
    t.equal(r.ok, false, name)
    if (!r.ok) t.match(r.reason, /signature/, name)
  }
})

t.test('malformed input is refused with a reason, never thrown', async (t) => {
  const signed = await signDeviceList(account.privateKey, list)
  const device = list.devices[0]!
  const sig = sodium.from_base64(signed.signature, B64)
  const cases: Array<[string, unknown, RegExp]> = [
    ['null', null, /not an object/],
    ['an array', [], /not an object/],
    ['an extra field', { ...signed, extra: 1 }, /unexpected field "extra"/],
    ['no signature', { accountKey: signed.accountKey, deviceList: list }, /missing field "signature"/],
    ['a short account key', { ...signed, accountKey: signed.accountKey.slice(1) }, /accountKey/],
    ['padded base64', { ...signed, accountKey: signed.accountKey + '=' }, /accountKey/],
    ['standard base64 alphabet', { ...signed, signature: signed.signature.slice(0, 85) + '+' }, /signature is not/],
    ['a truncated signature', { ...signed, signature: b64(sig.subarray(1)) }, /signature is not/],
    ['non-canonical base64 (stray low bits)', { ...signed, accountKey: signed.accountKey.slice(0, 42) + flipLowBits(signed.accountKey.slice(42)) }, /accountKey/],
    ['no devices', { ...signed, deviceList: { ...list, devices: [] } }, /devices/],
    ['33 devices', { ...signed, deviceList: { ...list, devices: Array.from({ length: 33 }, (_, i) => ({ ...device, deviceId: `d${i}` })) } }, /devices/],
    ['a repeated device id', { ...signed, deviceList: { ...list, devices: [device, { ...device, signPublicKey: b64(seed(5)), boxPublicKey: b64(seed(6)) }] } }, /repeats a device id/],
    ['a key used twice', { ...signed, deviceList: { ...list, devices: [{ ...device, boxPublicKey: device.signPublicKey }] } }, /repeats a public key/],
    ['version 0', { ...signed, deviceList: { ...list, version: 0 } }, /version/],
    ['a fractional version', { ...signed, deviceList: { ...list, version: 1.5 } }, /version/],
    ['an unsafe version', { ...signed, deviceList: { ...list, version: 2 ** 53 } }, /version/],
    ['a bad date', { ...signed, deviceList: { ...list, issuedAt: 'yesterday' } }, /issuedAt/],
    ['a bad user id', { ...signed, deviceList: { ...list, userId: 'bob' } }, /userId/],
    ['a bad device id', { ...signed, deviceList: { ...list, devices: [{ ...device, deviceId: 'a.b' }] } }, /deviceId/],
    ['an extra device field', { ...signed, deviceList: { ...list, devices: [{ ...device, name: 'x' }] } }, /unexpected field "name"/]
  ]
  for (const [name, value, reason] of cases) {
    const r = await verifySignedDeviceList(value)
    t.equal(r.ok, false, name)
    if (!r.ok) t.match(r.reason, reason, name)
  }
})

t.test('signing refuses a malformed list or an inconsistent secret key', async (t) => {
  await t.rejects(signDeviceList(account.privateKey, { ...list, version: 0 }), /version/)
  await t.rejects(signDeviceList(account.privateKey.subarray(0, 32), list), /64-byte/)
  const broken = account.privateKey.slice()
  broken[40] = broken[40]! ^ 1
  await t.rejects(signDeviceList(broken, list), /inconsistent/)
})

function flipLowBits (lastChar: string): string {
  // The last of 43 characters carries 4 bits of data and 2 unused low bits.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  return alphabet[alphabet.indexOf(lastChar) ^ 1] as string
}

t.test('nextDeviceList numbers versions; checkDeviceListSuccession accepts only a newer list of the same user', async (t) => {
  const { nextDeviceList, checkDeviceListSuccession } = await import('@metadome/e2ee')
  const v1 = await signDeviceList(account.privateKey, nextDeviceList({ userId: list.userId, devices: list.devices, issuedAt: list.issuedAt }))
  t.equal(v1.deviceList.version, 1)
  t.same(await checkDeviceListSuccession(undefined, v1), { ok: true, accountKeyChanged: false })
  const phone = { deviceId: 'phone', signPublicKey: b64(sodium.crypto_sign_seed_keypair(seed(4)).publicKey), boxPublicKey: b64(sodium.crypto_box_seed_keypair(seed(5)).publicKey) }
  const v2 = await signDeviceList(account.privateKey, nextDeviceList({ userId: list.userId, previous: v1.deviceList, devices: [...list.devices, phone] }))
  t.equal(v2.deviceList.version, 2)
  t.same(await checkDeviceListSuccession(v1, v2), { ok: true, accountKeyChanged: false })
  t.match(await checkDeviceListSuccession(v2, v1), { ok: false, code: 'version_not_newer' })
  t.match(await checkDeviceListSuccession(v1, v1), { ok: false, code: 'version_not_newer' })
  t.match(await checkDeviceListSuccession(v1, { ...v2, signature: v1.signature }), { ok: false, code: 'bad_device_list' })
  const otherUser = await signDeviceList(account.privateKey, { ...v2.deviceList, userId: '11111111-2222-4333-8444-555555555555' })
  t.match(await checkDeviceListSuccession(v1, otherUser), { ok: false, code: 'user_changed' })
  const newAccount = sodium.crypto_sign_seed_keypair(seed(11))
  t.same(await checkDeviceListSuccession(v1, await signDeviceList(newAccount.privateKey, v2.deviceList)), { ok: true, accountKeyChanged: true })
  t.throws(() => nextDeviceList({ userId: '11111111-2222-4333-8444-555555555555', previous: v1.deviceList, devices: list.devices }), /another user/)
})
