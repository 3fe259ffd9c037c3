import type { Message } from '@metadome/contracts'

/**
 * A stored message on its way to sockets: its seq and conversation (to order
 * and deduplicate without parsing) and the `message` frame, serialized once
 * per gateway and written as is to every socket that gets it.
 */
export interface LiveItem {
  seq: number
  conversationId: string
  id: string
  frame: string
}

/**
 * The `message` frame for a stream payload (a StreamMessage as JSON) and its
 * seq, spliced as text: the gateway never parses or re-serializes a body
 * (up to 64 KiB) on the fan-out path. Undefined for a payload that is not a
 * non-empty JSON object (nothing a gateway published).
 */
export function messageFrame (seq: number, payload: string): string | undefined {
  if (payload.length < 3 || payload[0] !== '{' || payload[payload.length - 1] !== '}') return undefined
  return `{"type":"message","message":{"seq":${seq},${payload.slice(1)}}`
}

export function itemFromMessage (message: Message): LiveItem {
  return {
    seq: message.seq,
    conversationId: message.conversationId,
    id: message.id,
    frame: JSON.stringify({ type: 'message', message })
  }
}
