import { Compile } from 'typebox/compile'
import type { Namespace } from '@metadome/nats'
import { ConversationEvent } from '@metadome/contracts'
import type { Poison } from './decode-chat.js'

const check = Compile(ConversationEvent)
const decoder = new TextDecoder('utf-8', { fatal: true })

export type DecodedEvent = { ok: true, event: ConversationEvent } | { ok: false, poison: Poison }

/** `<ns>.chat.conv.<conversationId>` entries: JSON, the ConversationEvent schema, and the subject naming the event's group. */
export function groupEventDecoder (ns: Namespace): { prefix: string, decode: (subject: string, data: Uint8Array) => DecodedEvent } {
  const prefix = `${ns.prefix}.chat.conv.`
  return {
    prefix,
    decode (subject, data) {
      let value: unknown
      try {
        value = JSON.parse(decoder.decode(data))
      } catch (err) {
        return { ok: false, poison: { category: 'invalid_json', reason: `payload is not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}` } }
      }
      if (!check.Check(value)) {
        const [first] = check.Errors(value)
        return { ok: false, poison: { category: 'invalid_message', reason: `not a ConversationEvent: ${first === undefined ? 'invalid' : `${first.instancePath || '/'} ${first.message}`}` } }
      }
      if (subject !== prefix + value.conversationId) {
        return { ok: false, poison: { category: 'wrong_conversation', reason: `published on ${subject} for conversation ${value.conversationId}` } }
      }
      return { ok: true, event: value }
    }
  }
}
