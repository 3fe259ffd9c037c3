// Writes envelope.json, the golden vectors of our own envelope: fixed keys,
// fixed random draws, and the envelopes they make. Run it only when the
// envelope format changes on purpose (and bump its version then):
//   node --import=tsx --conditions=@metadome/source libs/e2ee/test/vectors/make-envelope-vectors.ts
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { exportAccountKey, exportDeviceKeys, safetyNumber, sealEnvelope } from '@metadome/e2ee'
import { b64, unb64, fixedBytes, makeUser, USER_IDS, scriptedRandom, type TestUser } from '../helper.js'

const alice = await makeUser('alice', USER_IDS.alice, 2)
const bob = await makeUser('bob', USER_IDS.bob, 1)
const carol = await makeUser('carol', USER_IDS.carol, 2)

async function userVector (u: TestUser): Promise<object> {
  return {
    name: u.name,
    userId: u.userId,
    accountKey: await exportAccountKey(u.account),
    devices: await Promise.all(u.devices.map(exportDeviceKeys)),
    signedDeviceList: u.signed
  }
}

interface CaseSpec { name: string, sender: TestUser, members: TestUser[], conversationId: string, messageId: string, counter: number, sentAt: string, plaintext: string }

async function caseVector (spec: CaseSpec): Promise<object> {
  const recipientCount = spec.members.reduce((n, m) => n + m.devices.length, 0) - 1
  const random = {
    contentKey: b64(fixedBytes(`${spec.name} content key`)),
    nonce: b64(fixedBytes(`${spec.name} nonce`, 24)),
    wrapNonces: Array.from({ length: recipientCount }, (_, i) => b64(fixedBytes(`${spec.name} wrap nonce ${i}`, 24)))
  }
  const envelope = await sealEnvelope({
    conversationId: spec.conversationId,
    messageId: spec.messageId,
    counter: spec.counter,
    sentAt: spec.sentAt,
    sender: { userId: spec.sender.userId, device: spec.sender.devices[0]! },
    recipients: spec.members.map((m) => m.signed),
    plaintext: spec.plaintext,
    random: scriptedRandom([random.contentKey, random.nonce, ...random.wrapNonces].map(unb64))
  })
  return {
    name: spec.name,
    sender: { user: spec.sender.name, deviceId: spec.sender.devices[0]!.deviceId },
    members: spec.members.map((m) => m.name),
    conversationId: spec.conversationId,
    messageId: spec.messageId,
    counter: spec.counter,
    sentAt: spec.sentAt,
    plaintext: spec.plaintext,
    random,
    envelope
  }
}

const vectors = {
  description: 'Golden vectors of the metadome e2ee envelope v1 (libs/e2ee). Every byte string is base64url without padding. ' +
    'Keys: accountKey.seed is an Ed25519 seed; a device has an Ed25519 signSeed and an X25519 boxSecretKey. ' +
    'random lists the draws sealEnvelope makes, in order: contentKey (32), nonce (24), then wrapNonces (24 each) in header.recipients order. ' +
    'Sealing a case with its keys and draws must give its envelope byte for byte (JSON.stringify), and every recipient device must open it to plaintext.',
  users: [await userVector(alice), await userVector(bob), await userVector(carol)],
  cases: [
    await caseVector({
      name: 'direct',
      sender: alice,
      members: [alice, bob],
      conversationId: `dm_${USER_IDS.alice}_${USER_IDS.bob}`,
      messageId: '6d657461-646f-4d65-8000-000000000001',
      counter: 7,
      sentAt: '2025-01-02T03:04:05.678Z',
      plaintext: 'hello Bob 👋 — "quoted" \\ backslash'
    }),
    await caseVector({
      name: 'group',
      sender: carol,
      members: [alice, bob, carol],
      conversationId: '9c0f7a52-3b1e-4d2a-9f6b-1a2b3c4d5e6f',
      messageId: '6d657461-646f-4d65-8000-000000000002',
      counter: 0,
      sentAt: '2025-01-02T03:04:06.000Z',
      plaintext: 'A longer group message, so that it pads past the first bucket. '.repeat(5)
    })
  ],
  safetyNumbers: [
    { users: ['alice', 'bob'], digits: await safetyNumber({ userId: alice.userId, accountKey: alice.signed.accountKey }, { userId: bob.userId, accountKey: bob.signed.accountKey }) }
  ]
}

const out = fileURLToPath(new URL('./envelope.json', import.meta.url))
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
process.stdout.write(`wrote ${out}\n`)
