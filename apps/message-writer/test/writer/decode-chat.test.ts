import t from 'tap'
import { randomUUID } from 'node:crypto'
import { namespace } from '@metadome/nats'
import { directConversationId } from '@metadome/contracts'
import { chatDecoder } from '../../src/writer/decode-chat.js'

const ns = namespace('md')
const decode = chatDecoder(ns)
const alice = '0a7c1f3e-2b4d-4e6f-8a9b-0c1d2e3f4a5b'
const bob = '1b8d2a4f-3c5e-4f70-9bac-1d2e3f4a5b6c'
const dm = directConversationId(alice, bob)
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const message = (over: Record<string, unknown> = {}) => ({ id: randomUUID(), conversationId: dm, senderId: alice, sentAt: '2026-11-24T10:00:00.000Z', body: { v: 1 }, ...over })

t.test('a valid message decodes with its seq and the direct pair', async (t) => {
  const m = message()
  const d = decode(`md.chat.msg.${dm}`, enc(m), 42)
  t.ok(d.ok)
  if (d.ok) t.match(d.message, { id: m.id, seq: 42, conversationId: dm, senderId: alice, sentAtMs: Date.parse(m.sentAt), direct: [alice, bob].sort() })
})

t.test('each kind of poison gets its category', async (t) => {
  const cases: Array<[string, string, Uint8Array, string]> = [
    ['another namespace', `other.chat.msg.${dm}`, enc(message()), 'unknown_subject'],
    ['another type', `md.chat.edit.${dm}`, enc(message()), 'unknown_subject'],
    ['a deeper subject', `md.chat.msg.${dm}.x`, enc(message()), 'unknown_subject'],
    ['no conversation token', 'md.chat.msg.', enc(message()), 'unknown_subject'],
    ['invalid JSON', `md.chat.msg.${dm}`, new TextEncoder().encode('{'), 'invalid_json'],
    ['not UTF-8', `md.chat.msg.${dm}`, new Uint8Array([0xc3, 0x28]), 'invalid_json'],
    ['an extra field', `md.chat.msg.${dm}`, enc(message({ seq: 5 })), 'invalid_message'],
    ['a body that is not an object', `md.chat.msg.${dm}`, enc(message({ body: 'hi' })), 'invalid_message'],
    ['a bad sentAt', `md.chat.msg.${dm}`, enc(message({ sentAt: 'yesterday' })), 'invalid_message'],
    ['a body over 64 KiB', `md.chat.msg.${dm}`, enc(message({ body: { x: 'é'.repeat(33_000) } })), 'too_large'],
    ['the subject of another conversation', `md.chat.msg.${directConversationId(alice, alice)}`, enc(message()), 'wrong_conversation'],
    ['a sender outside the pair', `md.chat.msg.${dm}`, enc(message({ senderId: randomUUID() })), 'not_a_member'],
    ['a reversed direct id', `md.chat.msg.dm_${bob}_${alice}`, enc(message({ conversationId: `dm_${bob}_${alice}` })), 'invalid_message']
  ]
  for (const [what, subject, data, category] of cases) {
    const d = decode(subject, data, 1)
    t.equal(d.ok ? 'ok' : d.poison.category, category, what)
    if (!d.ok) t.ok(d.poison.reason.length > 0)
  }
})

t.test('a body just under the limit, and a group id, decode', async (t) => {
  t.ok(decode(`md.chat.msg.${dm}`, enc(message({ body: { x: 'a'.repeat(65_000) } })), 1).ok)
  const group = randomUUID()
  const d = decode(`md.chat.msg.${group}`, enc(message({ conversationId: group })), 1)
  t.ok(d.ok && d.message.direct === undefined)
})
