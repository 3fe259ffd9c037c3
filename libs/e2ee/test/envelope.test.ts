import t from 'tap'
import { randomUUID } from 'node:crypto'
import {
  createReceiver, openEnvelope, sealEnvelope, MemoryReplayStore, paddedLength, padme, MIN_PADDED_BYTES,
  exportDeviceKeys, importDeviceKeys, exportAccountKey, importAccountKey, generateDeviceKeys, generateAccountKey, envelopeSender,
  type Envelope
} from '@metadome/e2ee'
import { directoryOf, makeUser, rejectsWith, unb64, USER_IDS, type TestUser } from './helper.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

async function send (sender: TestUser, deviceIndex: number, members: TestUser[], conversationId: string, plaintext: string, counter = 1): Promise<Envelope> {
  return await sealEnvelope({
    conversationId,
    messageId: randomUUID(),
    counter,
    sender: { userId: sender.userId, device: sender.devices[deviceIndex]! },
    recipients: members.map((m) => m.signed),
    plaintext
  })
}

t.test('1:1: Alice writes to Bob; Bob and her own other device read it', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 2)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const conversationId = `dm_${alice.userId}_${bob.userId}`
  const envelope = await send(alice, 0, [alice, bob], conversationId, 'hi Bob')
  t.same(envelope.header.recipients, [
    { userId: alice.userId, deviceId: 'alice-2' },
    { userId: bob.userId, deviceId: 'bob-1' }
  ], 'every device of both users but the sending one, sorted')
  // The envelope is a plain JSON object that survives the trip through the server.
  const wire = JSON.parse(JSON.stringify(envelope)) as unknown
  for (const [u, device] of [[bob, bob.devices[0]!], [alice, alice.devices[1]!]] as const) {
    const receiver = createReceiver({ userId: u.userId, device, lookupSender: directoryOf(alice, bob) })
    const opened = await receiver.open(wire, { conversationId, messageId: envelope.header.messageId, senderId: alice.userId })
    t.equal(text(opened.plaintext), 'hi Bob', device.deviceId)
    t.same(opened.sender, { userId: alice.userId, deviceId: 'alice-1', accountKey: alice.signed.accountKey })
  }
  // And Bob answers.
  const reply = await send(bob, 0, [bob, alice], conversationId, 'hi Alice')
  const opened = await openEnvelope(reply, {
    conversationId, recipient: { userId: alice.userId, device: alice.devices[0]! }, lookupSender: directoryOf(alice, bob), replayStore: new MemoryReplayStore()
  })
  t.equal(text(opened.plaintext), 'hi Alice')
})

t.test('a group of three users with two devices each: every other device of every member reads every message', async (t) => {
  const members = [
    await makeUser('alice', USER_IDS.alice, 2),
    await makeUser('bob', USER_IDS.bob, 2),
    await makeUser('carol', USER_IDS.carol, 2)
  ]
  const directory = directoryOf(...members)
  const conversationId = randomUUID()
  const receivers = members.flatMap((u) => u.devices.map((device) => ({ u, device, receiver: createReceiver({ userId: u.userId, device, lookupSender: directory }) })))
  for (const sender of members) {
    for (const [i, device] of sender.devices.entries()) {
      const message = `from ${device.deviceId}`
      const envelope = await send(sender, i, members, conversationId, message)
      t.equal(envelope.header.recipients.length, 5)
      t.equal(envelope.wraps.length, 5)
      for (const r of receivers) {
        const opening = r.receiver.open(envelope, { conversationId, senderId: sender.userId })
        if (r.device === device) {
          await rejectsWith(t, opening, 'not_a_recipient', `${device.deviceId} does not open its own message`)
        } else {
          t.equal(text((await opening).plaintext), message, `${r.device.deviceId} reads ${message}`)
        }
      }
    }
  }
})

t.test('a recipient device opens a message once: the same envelope again is a replay', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 1)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const conversationId = `dm_${alice.userId}_${bob.userId}`
  const envelope = await send(alice, 0, [alice, bob], conversationId, 'once')
  const receiver = createReceiver({ userId: bob.userId, device: bob.devices[0]!, lookupSender: directoryOf(alice, bob) })
  await receiver.open(envelope, { conversationId })
  await rejectsWith(t, receiver.open(envelope, { conversationId }), 'replay')
  t.equal((receiver.replayStore as MemoryReplayStore).size, 1)
})

t.test('bodies are padded: short messages all seal to one size, longer ones by Padmé', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 1)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const conversationId = `dm_${alice.userId}_${bob.userId}`
  const sizes = new Set<number>()
  for (const message of ['', 'a', 'hello', 'x'.repeat(200), 'y'.repeat(MIN_PADDED_BYTES - 1)]) {
    sizes.add(unb64((await send(alice, 0, [alice, bob], conversationId, message)).ciphertext).length)
  }
  t.same([...sizes], [MIN_PADDED_BYTES + 16])
  const long = await send(alice, 0, [alice, bob], conversationId, 'z'.repeat(1000))
  t.equal(unb64(long.ciphertext).length, paddedLength(1000) + 16)
  t.equal(paddedLength(1000), 1024)
  // Padmé by hand: E = floor(log2 n), S = floor(log2 E) + 1, round n up to a
  // multiple of 2^(E - S). Its overhead stays under 12 %.
  t.same([1, 2, 9, 100, 1000, 1025, 10000, 65536].map(padme), [1, 2, 10, 104, 1024, 1088, 10240, 65536])
  for (let n = 1; n < 70000; n += 97) {
    const p = padme(n)
    t.ok(p >= n && p <= n * 1.12 + 1, `padme(${n}) = ${p}`)
  }
  // And it opens back to the exact bytes, empty included.
  for (const message of ['', 'a\u0000\u0080', 'z'.repeat(1000)]) {
    const envelope = await send(alice, 0, [alice, bob], conversationId, message)
    const opened = await openEnvelope(envelope, { conversationId, recipient: { userId: bob.userId, device: bob.devices[0]! }, lookupSender: directoryOf(alice, bob), replayStore: new MemoryReplayStore() })
    t.equal(text(opened.plaintext), message)
  }
})

t.test('binary bodies go through unchanged', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 1)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const conversationId = `dm_${alice.userId}_${bob.userId}`
  const body = new Uint8Array([0x80, 0, 0, 0x80, 0])
  const envelope = await sealEnvelope({ conversationId, messageId: randomUUID(), counter: 1, sender: { userId: alice.userId, device: alice.devices[0]! }, recipients: [alice.signed, bob.signed], plaintext: body })
  const opened = await openEnvelope(envelope, { conversationId, recipient: { userId: bob.userId, device: bob.devices[0]! }, lookupSender: directoryOf(alice, bob), replayStore: new MemoryReplayStore() })
  t.same(opened.plaintext, body)
})

t.test('an envelope that would not fit in a 64 KiB message body is refused before it is sent', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 1)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const conversationId = `dm_${alice.userId}_${bob.userId}`
  await rejectsWith(t, send(alice, 0, [alice, bob], conversationId, 'x'.repeat(50_000)), 'too_large')
  const fits = await send(alice, 0, [alice, bob], conversationId, 'x'.repeat(40_000))
  t.ok(JSON.stringify(fits).length <= 64 * 1024)
})

t.test('sealing checks its own inputs', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 2)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const base = { conversationId: `dm_${alice.userId}_${bob.userId}`, messageId: randomUUID(), counter: 1, sender: { userId: alice.userId, device: alice.devices[0]! }, recipients: [alice.signed, bob.signed], plaintext: 'x' }
  await t.rejects(sealEnvelope({ ...base, recipients: [bob.signed] }), /own device list/)
  await t.rejects(sealEnvelope({ ...base, recipients: [alice.signed, bob.signed, bob.signed] }), /two device lists/)
  await t.rejects(sealEnvelope({ ...base, messageId: 'not-a-uuid' }), /messageId/)
  await t.rejects(sealEnvelope({ ...base, counter: -1 }), /counter/)
  await t.rejects(sealEnvelope({ ...base, sentAt: 'now' }), /sentAt/)
  await t.rejects(sealEnvelope({ ...base, conversationId: 'a.b' }), /conversationId/)
  const stranger = await generateDeviceKeys({ deviceId: 'alice-9' })
  await rejectsWith(t, sealEnvelope({ ...base, sender: { userId: alice.userId, device: stranger } }), 'unknown_device', 'a device missing from its own list')
  const impostor = await generateDeviceKeys({ deviceId: 'alice-1' })
  await rejectsWith(t, sealEnvelope({ ...base, sender: { userId: alice.userId, device: impostor } }), 'unknown_device', 'a device id listed with other keys')
  await t.rejects(sealEnvelope({ ...base, random: () => new Uint8Array(3) }), /random/)
})

t.test('keys: device ids are random by default, and key material survives export and import', async (t) => {
  const a = await generateDeviceKeys()
  const b = await generateDeviceKeys()
  t.match(a.deviceId, /^[A-Za-z0-9_-]{22}$/)
  t.not(a.deviceId, b.deviceId)
  t.not(Buffer.from(a.sign.publicKey).toString('hex'), Buffer.from(a.box.publicKey).toString('hex'), 'two separate keys')
  const exported = JSON.parse(JSON.stringify(await exportDeviceKeys(a))) as unknown
  const back = await importDeviceKeys(exported)
  t.same(back, a)
  const account = await generateAccountKey()
  t.same(await importAccountKey(JSON.parse(JSON.stringify(await exportAccountKey(account)))), account)
  const serialized = await exportDeviceKeys(a)
  await t.rejects(importDeviceKeys({ ...serialized, boxPublicKey: serialized.signPublicKey }), /box public key/)
  await t.rejects(importDeviceKeys({ ...serialized, signPublicKey: serialized.boxPublicKey }), /signing public key/)
  await t.rejects(importDeviceKeys({ ...serialized, kind: 'x' }), /not serialized/)
  await t.rejects(importAccountKey({ ...(await exportAccountKey(account)), publicKey: serialized.signPublicKey }), /does not match/)
  await t.rejects(generateDeviceKeys({ deviceId: 'a b' }), /deviceId/)
})

t.test('envelopeSender names the (unauthenticated) sender, to fetch their list', async (t) => {
  const alice = await makeUser('alice', USER_IDS.alice, 1)
  const bob = await makeUser('bob', USER_IDS.bob, 1)
  const envelope = await send(alice, 0, [alice, bob], `dm_${alice.userId}_${bob.userId}`, 'x')
  t.same(envelopeSender(envelope), { userId: alice.userId, deviceId: 'alice-1' })
  t.equal(envelopeSender({ text: 'plain' }), undefined)
})
