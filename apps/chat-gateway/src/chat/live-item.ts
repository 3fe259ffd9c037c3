import type { Msg } from '@nats-io/transport-node'
import type { Message } from '@metadome/contracts'

/**
 * A stored message on its way to sockets: its seq and conversation (to order
 * and deduplicate without parsing) and the `message` frame, serialized once
 * per gateway and written as is to every socket that gets it.
 */
export interface LiveItem {
  readonly seq: number
  readonly conversationId: string
  readonly id: string
  readonly frame: string
}

const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d

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

const utf8 = new TextDecoder()

/**
 * A message from the live feed, whose frame is decoded and spliced when a
 * socket first writes it. Often none does: the sender's own gateway gets
 * every message back, and its sending socket takes the `ack` instead.
 */
class LiveMessage implements LiveItem {
  #payload: Uint8Array | undefined
  #frame: string | undefined

  constructor (readonly seq: number, readonly conversationId: string, readonly id: string, payload: Uint8Array) {
    this.#payload = payload
  }

  get frame (): string {
    if (this.#frame === undefined) {
      const payload = utf8.decode(this.#payload)
      this.#payload = undefined
      this.#frame = `{"type":"message","message":{"seq":${this.seq},${payload.slice(1)}}`
    }
    return this.#frame
  }
}

/** nats.js's Msg as it is (MsgImpl): the bytes it read, headers first, and how many of them are headers. */
interface RawMsg {
  _rdata?: unknown
  _msg?: { hdr?: unknown }
}

/**
 * The two headers the live feed needs, read from the raw header block.
 * nats.js decodes every header of a message into a map of arrays, checking
 * each value with a regexp, on first access: 5 to 10 % of a gateway's CPU
 * for the six headers JetStream's RePublish adds, of which one is wanted.
 * Falls back to nats.js's headers should its Msg not be the one read here.
 */
export function streamHeaders (msg: Msg): { seq: number, id: string } {
  // MsgImpl's fields, not in nats.js's types: checked before use.
  const raw = msg as unknown as RawMsg
  const data = raw._rdata
  const hdr = raw._msg?.hdr
  if (data instanceof Uint8Array && typeof hdr === 'number' && hdr > 0 && hdr <= data.length) {
    const block = Buffer.from(data.buffer, data.byteOffset, hdr).toString('latin1')
    return { seq: Number(headerValue(block, 'Nats-Sequence')), id: headerValue(block, 'Nats-Msg-Id') ?? '' }
  }
  return { seq: Number(msg.headers?.get('Nats-Sequence')), id: msg.headers?.get('Nats-Msg-Id') ?? '' }
}

/** The first value of a header, as nats-server writes names (canonical case), from the block's text. */
function headerValue (block: string, name: string): string | undefined {
  const at = block.indexOf(`\r\n${name}:`)
  if (at < 0) return undefined
  const start = at + name.length + 3
  const end = block.indexOf('\r', start)
  return block.slice(start, end < 0 ? block.length : end).trim()
}

/**
 * The live item for a message of the feed, or undefined when it has no seq
 * or its payload is not a non-empty JSON object (nothing a gateway published).
 */
export function liveItem (conversationId: string, msg: Msg): LiveItem | undefined {
  const { seq, id } = streamHeaders(msg)
  const payload = msg.data
  if (!Number.isSafeInteger(seq) || seq <= 0 || payload.length < 3 || payload[0] !== OPEN_BRACE || payload[payload.length - 1] !== CLOSE_BRACE) return undefined
  return new LiveMessage(seq, conversationId, id, payload)
}

export function itemFromMessage (message: Message): LiveItem {
  return {
    seq: message.seq,
    conversationId: message.conversationId,
    id: message.id,
    frame: JSON.stringify({ type: 'message', message })
  }
}
