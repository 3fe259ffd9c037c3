import { Compile } from 'typebox/compile'
import type { Namespace } from '@metadome/nats'
import { MAX_BODY_BYTES, StreamMessage, directMembers } from '@metadome/contracts'

/** A CHAT entry the writer can store. */
export interface ChatMessage {
  id: string
  seq: number
  conversationId: string
  senderId: string
  sentAt: string
  /** Milliseconds since the epoch, for the ack-to-row lag. */
  sentAtMs: number
  /** The payload as published: a validated StreamMessage, stored without serializing it again. */
  json: string
  /** The two members when the conversation is direct. */
  direct: [string, string] | undefined
}

/** Why an entry can never be stored; the category is a metric label. */
export interface Poison {
  category: 'unknown_subject' | 'invalid_json' | 'invalid_message' | 'too_large' | 'wrong_conversation' | 'not_a_member' | 'unknown_conversation' | 'unstorable' | 'refused'
  reason: string
}

export type Decoded = { ok: true, message: ChatMessage } | { ok: false, poison: Poison }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const checkStreamMessage = Compile(StreamMessage)
const decoder = new TextDecoder('utf-8', { fatal: true })

const poison = (category: Poison['category'], reason: string): Decoded => ({ ok: false, poison: { category, reason } })

/**
 * Turns one CHAT entry into a message to store, or says why it never can be.
 * Everything that does not depend on the database is checked here, so that a
 * bad entry is dead-lettered without costing a transaction: the subject
 * (`<ns>.chat.msg.<conversationId>`), JSON, the StreamMessage schema, the
 * body size, that the subject and the payload name the same conversation,
 * that a direct conversation id is the canonical one for its two users and
 * that the sender is one of them.
 */
export function chatDecoder (ns: Namespace): (subject: string, data: Uint8Array, seq: number) => Decoded {
  const prefix = `${ns.prefix}.chat.msg.`
  return function decode (subject, data, seq) {
    if (!subject.startsWith(prefix) || subject.length === prefix.length || subject.indexOf('.', prefix.length) !== -1) {
      return poison('unknown_subject', `no message type is published on ${subject}`)
    }
    const subjectConversation = subject.slice(prefix.length)

    let json: string
    let value: unknown
    try {
      json = decoder.decode(data)
      value = JSON.parse(json)
    } catch (err) {
      return poison('invalid_json', `payload is not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (!checkStreamMessage.Check(value)) {
      const [first] = checkStreamMessage.Errors(value)
      return poison('invalid_message', `not a StreamMessage: ${first === undefined ? 'invalid' : `${first.instancePath || '/'} ${first.message}`}`)
    }
    const m = value
    // Cheap first: only a payload near the limit needs the body measured.
    if (data.byteLength > MAX_BODY_BYTES && Buffer.byteLength(JSON.stringify(m.body)) > MAX_BODY_BYTES) {
      return poison('too_large', `body is over ${MAX_BODY_BYTES} bytes`)
    }
    if (m.conversationId !== subjectConversation) {
      return poison('wrong_conversation', `published on ${subject} for conversation ${m.conversationId}`)
    }
    const sentAtMs = Date.parse(m.sentAt)
    if (!Number.isFinite(sentAtMs)) return poison('invalid_message', `sentAt ${m.sentAt} is not a time`)

    const direct = directMembers(m.conversationId)
    if (direct !== undefined) {
      // The schema's pattern allows lower-case hex only, so the id is canonical when its two users are in order.
      if (!UUID.test(direct[0]) || !UUID.test(direct[1]) || direct[0] > direct[1]) {
        return poison('invalid_message', `${m.conversationId} is not the canonical id of a direct conversation`)
      }
      if (m.senderId !== direct[0] && m.senderId !== direct[1]) {
        return poison('not_a_member', `sender ${m.senderId} is not a member of ${m.conversationId}`)
      }
    }
    return { ok: true, message: { id: m.id, seq, conversationId: m.conversationId, senderId: m.senderId, sentAt: m.sentAt, sentAtMs, json, direct } }
  }
}
