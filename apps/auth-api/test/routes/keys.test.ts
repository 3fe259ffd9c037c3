import t from 'tap'
import sodium from 'libsodium-wrappers'
import { accountPublicKey, generateAccountKey, generateDeviceKeys, publicDevice, signDeviceList } from '@metadome/e2ee'
import { DEVICE_LIST_CONTEXT, type DeviceList, type SignedDeviceList } from '@metadome/contracts'
import { build, signUp, PASSWORD } from '../helper.js'

async function deviceList (userId: string, version: number, devices = 1): Promise<DeviceList> {
  const list = []
  for (let i = 0; i < devices; i++) list.push(await publicDevice(await generateDeviceKeys()))
  return { userId, version, issuedAt: new Date().toISOString(), devices: list }
}

t.test('the key directory', async (t) => {
  const { app } = await build(t)
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')
  const carol = await signUp(app, 'carol')
  const account = await generateAccountKey()
  const put = async (body: unknown, who = alice) => await app.inject({ method: 'PUT', url: '/v1/users/me/keys', headers: who.auth, payload: body as Record<string, unknown> })
  const get = async (id: string, who = bob) => await app.inject({ url: `/v1/users/${id}/keys`, headers: who.auth })

  t.test('404 not_found before a user publishes keys', async (t) => {
    const res = await get(alice.id)
    t.equal(res.statusCode, 404)
    t.equal(res.json().error.code, 'not_found')
  })

  t.test('a user publishes a signed device list; anyone signed in reads it back exactly', async (t) => {
    const signed = await signDeviceList(account.secretKey, await deviceList(alice.id, 1, 2))
    const res = await put(signed)
    t.equal(res.statusCode, 200)
    t.same(res.json(), signed)
    const read = await get(alice.id)
    t.equal(read.statusCode, 200)
    t.same(read.json(), signed)
  })

  t.test('the signature is Ed25519 over DEVICE_LIST_CONTEXT + JSON with sorted keys and no whitespace', async (t) => {
    // Made here with libsodium alone, and sent with its keys in another order.
    await sodium.ready
    const keyPair = sodium.crypto_sign_keypair()
    const list = await deviceList(carol.id, 1)
    const device = list.devices[0]
    const canonical = `{"devices":[{"boxPublicKey":"${device?.boxPublicKey ?? ''}","deviceId":"${device?.deviceId ?? ''}","signPublicKey":"${device?.signPublicKey ?? ''}"}],"issuedAt":"${list.issuedAt}","userId":"${list.userId}","version":1}`
    const signature = sodium.crypto_sign_detached(sodium.from_string(DEVICE_LIST_CONTEXT + canonical), keyPair.privateKey)
    const body = {
      signature: sodium.to_base64(signature, sodium.base64_variants.URLSAFE_NO_PADDING),
      deviceList: { version: 1, devices: list.devices, userId: list.userId, issuedAt: list.issuedAt },
      accountKey: sodium.to_base64(keyPair.publicKey, sodium.base64_variants.URLSAFE_NO_PADDING)
    }
    const res = await put(body, carol)
    t.equal(res.statusCode, 200)
  })

  t.test('409 version_conflict unless the version is exactly the stored one + 1', async (t) => {
    for (const version of [1, 3, 7, Number.MAX_SAFE_INTEGER]) {
      const res = await put(await signDeviceList(account.secretKey, await deviceList(alice.id, version)))
      t.equal(res.statusCode, 409, `version ${version} after 1`)
      t.equal(res.json().error.code, 'version_conflict')
      t.match(res.json().error.message, /must be 2/)
    }
    t.equal((await get(alice.id)).json().deviceList.version, 1, 'nothing was stored')
    t.equal((await put(await signDeviceList(account.secretKey, await deviceList(alice.id, 2)))).statusCode, 200, 'the next version is')
    t.equal((await get(alice.id)).json().deviceList.version, 2)
  })

  t.test('a list signed by the stored account key needs no password', async (t) => {
    const res = await put(await signDeviceList(account.secretKey, await deviceList(alice.id, 3, 2)))
    t.equal(res.statusCode, 200)
    t.equal((await get(alice.id)).json().deviceList.version, 3)
  })

  t.test('replacing the account key needs the account\'s password, checked like PATCH checks it', async (t) => {
    const replacement = await generateAccountKey()
    const signed = await signDeviceList(replacement.secretKey, await deviceList(alice.id, 4))
    const missing = await put(signed)
    t.equal(missing.statusCode, 400)
    t.equal(missing.json().error.code, 'current_password_required')
    const wrong = await put({ ...signed, currentPassword: 'not the password' })
    t.equal(wrong.statusCode, 403)
    t.equal(wrong.json().error.code, 'wrong_current_password')
    t.equal((await get(alice.id)).json().accountKey, await accountPublicKey(account), 'the old key stays')

    const res = await put({ ...signed, currentPassword: PASSWORD })
    t.equal(res.statusCode, 200)
    t.same(res.json(), signed, 'the answer is the list, without the password')
    const read = await get(alice.id)
    t.same(read.json(), signed, 'and so is what everyone reads')
    const row = await app.authDb.selectFrom('device_lists').select('signed').where('user_id', '=', alice.id).executeTakeFirstOrThrow()
    t.notMatch(JSON.stringify(row.signed), /currentPassword|correct horse/, 'the password is not stored')

    t.test('back to the first key is a replacement too', async (t) => {
      const back = await signDeviceList(account.secretKey, await deviceList(alice.id, 5))
      t.equal((await put(back)).json().error.code, 'current_password_required')
      t.equal((await put({ ...back, currentPassword: PASSWORD })).statusCode, 200)
    })
  })

  t.test('a first list may start at any version the directory can hold', async (t) => {
    const dave = await signUp(app, 'dave')
    const past = await put(await signDeviceList(account.secretKey, await deviceList(dave.id, 2 ** 31)), dave)
    t.equal(past.statusCode, 409, 'past the stored range: refused, not a server error')
    t.equal(past.json().error.code, 'version_conflict')
    t.equal((await put(await signDeviceList(account.secretKey, await deviceList(dave.id, 5)), dave)).statusCode, 200)
  })

  t.test('two publishes of the same next version at once: one is stored, the other is 409', async (t) => {
    const erin = await signUp(app, 'erin')
    t.equal((await put(await signDeviceList(account.secretKey, await deviceList(erin.id, 1)), erin)).statusCode, 200)
    const [a, b] = await Promise.all([
      put(await signDeviceList(account.secretKey, await deviceList(erin.id, 2)), erin),
      put(await signDeviceList(account.secretKey, await deviceList(erin.id, 2)), erin)
    ])
    t.same([a?.statusCode, b?.statusCode].sort(), [200, 409])
  })

  t.test('400 invalid_signature for a list changed after signing, or signed by another key', async (t) => {
    const signed = await signDeviceList(account.secretKey, await deviceList(alice.id, 8))
    const extraDevice = (await deviceList(alice.id, 8)).devices[0]
    const tampered: SignedDeviceList = { ...signed, deviceList: { ...signed.deviceList, devices: [...signed.deviceList.devices, ...(extraDevice !== undefined ? [extraDevice] : [])] } }
    const res = await put(tampered)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error.code, 'invalid_signature')
    const other = await generateAccountKey()
    const byOther = await signDeviceList(other.secretKey, signed.deviceList)
    const swapped = await put({ ...byOther, accountKey: signed.accountKey })
    t.equal(swapped.json().error.code, 'invalid_signature')
    t.equal((await get(alice.id)).json().deviceList.version, 5, 'nothing was stored')
  })

  t.test('403 forbidden for a list that names another user', async (t) => {
    const res = await put(await signDeviceList(account.secretKey, await deviceList(bob.id, 9)))
    t.equal(res.statusCode, 403)
    t.equal(res.json().error.code, 'forbidden')
  })

  t.test('400 bad_request for malformed keys, signatures or fields', async (t) => {
    const signed = await signDeviceList(account.secretKey, await deviceList(alice.id, 10))
    const device = signed.deviceList.devices[0]
    const bad = [
      { ...signed, accountKey: 'short' },
      { ...signed, accountKey: `${signed.accountKey}=` },
      { ...signed, signature: signed.signature.slice(1) },
      { ...signed, deviceList: { ...signed.deviceList, devices: [{ ...device, boxPublicKey: 'x'.repeat(44) }] } },
      { ...signed, deviceList: { ...signed.deviceList, devices: [] } },
      { ...signed, deviceList: { ...signed.deviceList, version: 0 } },
      { ...signed, extra: true }
    ]
    for (const body of bad) {
      const res = await put(body)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error.code, 'bad_request')
    }
  })

  t.test('400 for an id that is not a UUID; 401 without a token', async (t) => {
    t.equal((await get('nope')).statusCode, 400)
    t.equal((await app.inject({ url: `/v1/users/${alice.id}/keys` })).statusCode, 401)
    t.equal((await app.inject({ method: 'PUT', url: '/v1/users/me/keys', payload: {} })).statusCode, 401)
  })
})
