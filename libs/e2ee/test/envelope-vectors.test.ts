import t from 'tap'
import { readFileSync } from 'node:fs'
import type { SignedDeviceList } from '@metadome/contracts'
import {
  importAccountKey, importDeviceKeys, openEnvelope, safetyNumber, sealEnvelope, signDeviceList,
  verifySignedDeviceList, MemoryReplayStore, type DeviceKeyPair, type Envelope
} from '@metadome/e2ee'
import { rejectsWith, scriptedRandom, unb64 } from './helper.js'

// Our own golden vectors, checked both ways: the stored envelopes open with
// the stored keys, and sealing with the stored keys and random draws gives
// the stored envelopes byte for byte. The file is plain JSON so that the same
// checks can run in a browser.

interface Vectors {
  users: Array<{ name: string, userId: string, accountKey: unknown, devices: unknown[], signedDeviceList: SignedDeviceList }>
  cases: Array<{
    name: string
    sender: { user: string, deviceId: string }
    members: string[]
    conversationId: string
    messageId: string
    counter: number
    sentAt: string
    plaintext: string
    random: { contentKey: string, nonce: string, wrapNonces: string[] }
    envelope: Envelope
  }>
  safetyNumbers: Array<{ users: [string, string], digits: string }>
}

const vectors = JSON.parse(readFileSync(new URL('./vectors/envelope.json', import.meta.url), 'utf8')) as Vectors
const users = new Map<string, { userId: string, devices: DeviceKeyPair[], signed: SignedDeviceList }>()
for (const u of vectors.users) {
  const account = await importAccountKey(u.accountKey)
  const devices = await Promise.all(u.devices.map(importDeviceKeys))
  users.set(u.name, { userId: u.userId, devices, signed: u.signedDeviceList })
  t.test(`${u.name}'s stored device list verifies and is what signing gives`, async (t) => {
    t.same(await verifySignedDeviceList(u.signedDeviceList), { ok: true })
    t.same(await signDeviceList(account.secretKey, u.signedDeviceList.deviceList), u.signedDeviceList)
  })
}
const user = (name: string): { userId: string, devices: DeviceKeyPair[], signed: SignedDeviceList } => {
  const u = users.get(name)
  if (u === undefined) throw new Error(`no user ${name} in the vectors`)
  return u
}
const lookupSender = (userId: string): SignedDeviceList | undefined => [...users.values()].find((u) => u.userId === userId)?.signed

t.ok(vectors.cases.length >= 2)
for (const c of vectors.cases) {
  const sender = user(c.sender.user)
  const senderDevice = sender.devices.find((d) => d.deviceId === c.sender.deviceId) as DeviceKeyPair

  t.test(`${c.name}: sealing the stored inputs reproduces the stored envelope byte for byte`, async (t) => {
    const envelope = await sealEnvelope({
      conversationId: c.conversationId,
      messageId: c.messageId,
      counter: c.counter,
      sentAt: c.sentAt,
      sender: { userId: sender.userId, device: senderDevice },
      recipients: c.members.map((m) => user(m).signed),
      plaintext: c.plaintext,
      random: scriptedRandom([c.random.contentKey, c.random.nonce, ...c.random.wrapNonces].map(unb64))
    })
    t.equal(JSON.stringify(envelope), JSON.stringify(c.envelope))
  })

  t.test(`${c.name}: every recipient device opens the stored envelope, the sending device is not a recipient`, async (t) => {
    let opened = 0
    for (const m of c.members) {
      const member = user(m)
      for (const device of member.devices) {
        const open = openEnvelope(c.envelope, {
          conversationId: c.conversationId,
          messageId: c.messageId,
          senderId: sender.userId,
          recipient: { userId: member.userId, device },
          lookupSender,
          replayStore: new MemoryReplayStore()
        })
        if (device.deviceId === senderDevice.deviceId) {
          await rejectsWith(t, open, 'not_a_recipient', `${device.deviceId} is the sender`)
          continue
        }
        const result = await open
        t.equal(new TextDecoder().decode(result.plaintext), c.plaintext, device.deviceId)
        t.same(result.sender, { userId: sender.userId, deviceId: senderDevice.deviceId, accountKey: sender.signed.accountKey })
        opened++
      }
    }
    t.equal(opened, c.envelope.header.recipients.length)
    t.equal(c.envelope.wraps.length, c.random.wrapNonces.length)
  })
}

t.test('the stored safety numbers', async (t) => {
  for (const v of vectors.safetyNumbers) {
    const [a, b] = v.users.map(user) as [ReturnType<typeof user>, ReturnType<typeof user>]
    t.equal(await safetyNumber({ userId: a.userId, accountKey: a.signed.accountKey }, { userId: b.userId, accountKey: b.signed.accountKey }), v.digits)
    t.equal(await safetyNumber({ userId: b.userId, accountKey: b.signed.accountKey }, { userId: a.userId, accountKey: a.signed.accountKey }), v.digits)
  }
})
