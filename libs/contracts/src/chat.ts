import Type, { type Static } from 'typebox'
import { GroupId, GroupRole, Seq, Strict, Uuid } from './schema.js'
import type { Namespace } from './namespace.js'

// The chat model shared by gateways, message-writer and clients (DESIGN.md
// "WebSocket contract", "Delivery guarantees").

export const MAX_BODY_BYTES = 64 * 1024
/**
 * How deep a body's objects and arrays may nest. An envelope needs a few
 * levels; thousands overflow the stack of every recursive JSON walk after
 * the parser (stringify, validators, the writer, the clients).
 */
export const MAX_BODY_DEPTH = 32

/** True when `value` nests objects or arrays deeper than `max`; iterative, so it cannot overflow itself. */
export function nestedDeeperThan (value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next
    if (typeof v !== 'object' || v === null) continue
    if (depth >= max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

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
  const [x, y] = directPairOf(a, b)
  return `dm_${x}_${y}`
}

/** The two members of the direct conversation between two users, in its id's order. */
export function directPairOf (a: string, b: string): [string, string] {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x <= y ? [x, y] : [y, x]
}

/** The two members of a direct conversation, or undefined for a group id. */
export function directMembers (conversationId: string): [string, string] | undefined {
  const m = /^dm_([0-9a-f-]{36})_([0-9a-f-]{36})$/.exec(conversationId)
  return m === null ? undefined : [m[1] as string, m[2] as string]
}

/** Opaque to servers: clients put an end-to-end encrypted envelope here. */
export const Body = Type.Object({}, {
  additionalProperties: true,
  description: `opaque JSON object, at most ${MAX_BODY_BYTES} bytes serialized and ${MAX_BODY_DEPTH} levels deep`
})

/** What a gateway publishes to CHAT on `<ns>.chat.msg.<conversationId>` (Nats-Msg-Id = id). */
export const StreamMessage = Strict({
  id: Uuid,
  conversationId: ConversationId,
  senderId: Uuid,
  sentAt: Type.String({ format: 'date-time' }),
  body: Body
})
export type StreamMessage = Static<typeof StreamMessage>

/** A message as clients see it: the stream message plus its stream sequence. */
export const Message = Strict({
  id: Uuid,
  conversationId: ConversationId,
  senderId: Uuid,
  seq: Seq,
  sentAt: Type.String({ format: 'date-time' }),
  body: Body
}, { $id: 'Message' })
export type Message = Static<typeof Message>

export const Conversation = Strict({
  id: ConversationId,
  kind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  title: Type.Optional(Type.String({ maxLength: 128 })),
  members: Type.Array(Uuid),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'seq of the newest message, 0 if none' }),
  roles: Type.Optional(Type.Record(Type.String(), GroupRole, {
    description: 'groups: each current member\'s role by user id'
  })),
  unread: Type.Optional(Type.Integer({ minimum: 0, description: 'in the list: messages from others after the caller\'s read cursor' })),
  reads: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
    description: 'read receipts: each current member\'s read cursor (the highest seq they marked read) by user id'
  })),
  joinedSeq: Type.Optional(Type.Integer({ minimum: 0, description: 'groups, in the caller\'s list: the seq of the change that added the caller; they see messages after it only' }))
}, { $id: 'Conversation' })
export type Conversation = Static<typeof Conversation>

export const GROUP_TITLE_MAX = 128

export { GroupRole }
export type GroupRole = Static<typeof GroupRole>

const Title = Type.String({ minLength: 1, maxLength: GROUP_TITLE_MAX })
const eventBase = {
  /** Chosen by the gateway, also the Nats-Msg-Id: a retried publish is stored once. */
  id: Uuid,
  conversationId: GroupId,
  /** Who did it (for member_left: who left). */
  actorId: Uuid,
  at: Type.String({ format: 'date-time' }),
  /** The conversation as it is after the event (as validated before publishing), for the members' `conversation` frames. */
  conversation: Type.Optional(Conversation)
}

/**
 * A membership change of a group, published on `<ns>.chat.conv.<conversationId>`
 * (JetStream, in CHAT, ordered with the messages) and re-published live on
 * `<ns>.live.conv.<conversationId>` with its seq. Members joined by an event
 * see messages with seq > that event's seq; removed ones up to it.
 */
export const ConversationEvent = Type.Union([
  Strict({ ...eventBase, type: Type.Literal('created'), title: Title, members: Type.Array(Strict({ userId: Uuid, role: GroupRole }), { minItems: 1 }) }),
  Strict({ ...eventBase, type: Type.Literal('member_added'), userId: Uuid }),
  Strict({ ...eventBase, type: Type.Literal('member_removed'), userId: Uuid }),
  Strict({ ...eventBase, type: Type.Literal('member_left') }),
  Strict({ ...eventBase, type: Type.Literal('renamed'), title: Title }),
  Strict({ ...eventBase, type: Type.Literal('role_changed'), userId: Uuid, role: GroupRole })
])
export type ConversationEvent = Static<typeof ConversationEvent>
export type ConversationEventType = ConversationEvent['type']

/** Subjects of the chat side; streams are in streams.ts. */
export const chatSubjects = (ns: Namespace) => ({
  /** Gateways publish messages here (JetStream, stored in CHAT). */
  message: (conversationId: string) => ns.subject('chat', 'msg', conversationId),
  /** CHAT re-publishes each stored message here with its seq (Nats-Sequence). */
  liveMessage: (conversationId: string) => ns.subject('live', 'msg', conversationId),
  liveMessages: ns.subject('live', 'msg', '*'),
  /** Gateways publish group membership events here (JetStream, stored in CHAT). */
  conversationEvent: (conversationId: string) => ns.subject('chat', 'conv', conversationId),
  /** CHAT re-publishes each stored membership event here with its seq. */
  liveConversationEvent: (conversationId: string) => ns.subject('live', 'conv', conversationId),
  /** Both live feeds of one conversation, in stream order on one subscription. */
  liveAny: (conversationId: string) => ns.subject('live', '*', conversationId),
  /** Core NATS, not stored: typing and receipts relayed between gateways. */
  signal: (conversationId: string) => ns.subject('signal', conversationId),
  /** Core NATS, per user: conversation changes and session ends for that user's sockets. */
  user: (userId: string) => ns.subject('user', userId),
  /** Core NATS: `{"userId"}` after that user's blocks changed, for gateways to forget what they cached. */
  blocksChanged: ns.subject('blocks', 'changed'),
  /** Request/reply to message-writer (queue group `writer`). */
  rpc: (method: string) => ns.subject('rpc', method),
  /** Messages the writer could never store, with the reason. */
  deadLetter: ns.subject('deadletter', 'chat')
})
