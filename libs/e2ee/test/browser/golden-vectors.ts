// The golden-vector checks as a script with no Node APIs, for a browser (or
// any web-like runtime): bundled by test/browser-bundle.test.ts and run in a
// context that has only web globals. A later browser client can load the
// same bundle in a real page.
import type { SignedDeviceList } from '@metadome/contracts'
import {
  importDeviceKeys, openEnvelope, sealEnvelope, verifySignedDeviceList, MemoryReplayStore, safetyNumber,
  type DeviceKeyPair, type Envelope
} from '@metadome/e2ee'
import sodium from 'libsodium-wrappers'
import vectors from '../vectors/envelope.json' with { type: 'json' }

interface CaseVector {
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
}

export async function runGoldenVectors (): Promise<{ passed: number, failures: string[] }> {
  await sodium.ready
  const failures: string[] = []
  let passed = 0
  const check = (ok: boolean, what: string): void => { if (ok) passed++; else failures.push(what) }
  const users = new Map<string, { userId: string, devices: DeviceKeyPair[], signed: SignedDeviceList }>()
  for (const u of vectors.users) {
    users.set(u.name, { userId: u.userId, devices: await Promise.all(u.devices.map(importDeviceKeys)), signed: u.signedDeviceList as SignedDeviceList })
    check((await verifySignedDeviceList(u.signedDeviceList)).ok, `${u.name}: device list verifies`)
  }
  const lookupSender = (userId: string): SignedDeviceList | undefined => [...users.values()].find((u) => u.userId === userId)?.signed
  for (const c of vectors.cases as unknown as CaseVector[]) {
    const sender = users.get(c.sender.user)!
    const device = sender.devices.find((d) => d.deviceId === c.sender.deviceId)!
    const draws = [c.random.contentKey, c.random.nonce, ...c.random.wrapNonces].map((s) => sodium.from_base64(s, sodium.base64_variants.URLSAFE_NO_PADDING))
    const envelope = await sealEnvelope({
      conversationId: c.conversationId, messageId: c.messageId, counter: c.counter, sentAt: c.sentAt,
      sender: { userId: sender.userId, device },
      recipients: c.members.map((m) => users.get(m)!.signed),
      plaintext: c.plaintext,
      random: (n) => { const d = draws.shift(); if (d?.length !== n) throw new Error('unscripted draw'); return d }
    })
    check(JSON.stringify(envelope) === JSON.stringify(c.envelope), `${c.name}: sealing reproduces the envelope`)
    for (const m of c.members) {
      const member = users.get(m)!
      for (const d of member.devices) {
        if (d.deviceId === device.deviceId) continue
        const opened = await openEnvelope(c.envelope, { conversationId: c.conversationId, recipient: { userId: member.userId, device: d }, lookupSender, replayStore: new MemoryReplayStore() })
        check(new TextDecoder().decode(opened.plaintext) === c.plaintext, `${c.name}: ${d.deviceId} opens it`)
      }
    }
  }
  for (const v of vectors.safetyNumbers) {
    const [a, b] = v.users.map((n) => users.get(n)!)
    check(await safetyNumber({ userId: a!.userId, accountKey: a!.signed.accountKey }, { userId: b!.userId, accountKey: b!.signed.accountKey }) === v.digits, 'safety number')
  }
  return { passed, failures }
}
