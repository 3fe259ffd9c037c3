import Type, { type Static } from 'typebox'
import type { Namespace } from '@metadome/nats'

// The chat model shared by gateways, message-writer and clients (DESIGN.md
// "WebSocket contract", "Delivery guarantees").

export const MAX_BODY_BYTES = 64 * 1024

const Uuid = Type.String({ format: 'uuid' })

/** Group conversation ids are UUIDs; direct ones are derived (see directConversationId). */
export const ConversationId = Type.String({
  pattern: '^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|dm_[0-9a-f-]{36}_[0-9a-f-]{36})$',
  description: 'a group UUID, or dm_<userId>_<userId> (sorted) for a direct conversation'
})

/**
 * The id of the direct conversation between two users: both sides compute it
 * without asking. No dots, so it is a valid NATS subject token.
 */
export function directConversationId (a: string, b: string): string {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()].sort()
  return `dm_${x ?? ''}_${y ?? ''}`
}

/** The two members of a direct conversation, or undefined for a group id. */
export function directMembers (conversationId: string): [string, string] | undefined {
  const m = /^dm_([0-9a-f-]{36})_([0-9a-f-]{36})$/.exec(conversationId)
  return m === null ? undefined : [m[1] as string, m[2] as string]
}

/** Opaque to servers: clients put an end-to-end encrypted envelope here. */
export const Body = Type.Object({}, {
  additionalProperties: true,
  description: `opaque JSON object, at most ${MAX_BODY_BYTES} bytes serialized`
})

/** What a gateway publishes to CHAT on `<ns>.chat.msg.<conversationId>` (Nats-Msg-Id = id). */
export const StreamMessage = Type.Object({
  id: Uuid,
  conversationId: ConversationId,
  senderId: Uuid,
  sentAt: Type.String({ format: 'date-time' }),
  body: Body
}, { additionalProperties: false })
export type StreamMessage = Static<typeof StreamMessage>

/** A message as clients see it: the stream message plus its stream sequence. */
export const Message = Type.Object({
  id: Uuid,
  conversationId: ConversationId,
  senderId: Uuid,
  seq: Type.Integer({ minimum: 1, description: 'CHAT stream sequence: one total order across conversations' }),
  sentAt: Type.String({ format: 'date-time' }),
  body: Body
}, { $id: 'Message', additionalProperties: false })
export type Message = Static<typeof Message>

export const Conversation = Type.Object({
  id: ConversationId,
  kind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  title: Type.Optional(Type.String({ maxLength: 128 })),
  members: Type.Array(Uuid),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'seq of the newest message, 0 if none' })
}, { $id: 'Conversation', additionalProperties: false })
export type Conversation = Static<typeof Conversation>

/** Subjects of the chat side; streams are in streams.ts. */
export const chatSubjects = (ns: Namespace) => ({
  /** Gateways publish messages here (JetStream, stored in CHAT). */
  message: (conversationId: string) => ns.subject('chat', 'msg', conversationId),
  /** CHAT re-publishes each stored message here with its seq (Nats-Sequence). */
  liveMessage: (conversationId: string) => ns.subject('live', 'msg', conversationId),
  liveMessages: ns.subject('live', 'msg', '*'),
  /** Core NATS, not stored: typing and receipts relayed between gateways. */
  signal: (conversationId: string) => ns.subject('signal', conversationId),
  /** Core NATS, per user: conversation changes and session ends for that user's sockets. */
  user: (userId: string) => ns.subject('user', userId),
  /** Request/reply to message-writer (queue group `writer`). */
  rpc: (method: string) => ns.subject('rpc', method),
  /** Messages the writer could never store, with the reason. */
  deadLetter: ns.subject('deadletter', 'chat')
})
