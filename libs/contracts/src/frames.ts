import Type, { type Static } from 'typebox'
import { Cursor, GroupId, PageCursor, Seq, Strict, Uuid } from './schema.js'
import { Body, ConversationId, Conversation, Message, GroupRole, GROUP_TITLE_MAX } from './chat.js'
import { CONVERSATIONS_DEFAULT_LIMIT, CONVERSATIONS_MAX_LIMIT, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT } from './chat-rpc.js'
import { errorCodes } from './errors.js'

// WebSocket frames (client to gateway and gateway to client) and the
// chat-gateway REST bodies: DESIGN.md "WebSocket contract" and "REST contract
// — chat-gateway". One source: the gateway validates with these (compiled
// once), the SDK is typed by them, the OpenAPI document is generated from them.


/** Echoed in the reply to a request, so clients can match them. */
export const Ref = Type.Union([Type.String({ maxLength: 128 }), Type.Integer()], {
  description: 'a client-chosen request reference, echoed in the reply'
})
export type Ref = Static<typeof Ref>

/** The codes of an `error` frame: the generic ones but `conflict` (DESIGN.md "WebSocket contract"). */
export const ErrorCode = errorCodes('bad_request', 'unauthorized', 'forbidden', 'not_found', 'too_large', 'rate_limited', 'unavailable')
export type ErrorCode = Static<typeof ErrorCode>

export const ReceiptKind = Type.Union([Type.Literal('delivered'), Type.Literal('read')])
export type ReceiptKind = Static<typeof ReceiptKind>

const HistoryLimit = Type.Integer({ minimum: 1, maximum: HISTORY_MAX_LIMIT, description: `default ${HISTORY_DEFAULT_LIMIT}` })
const ConversationsLimit = Type.Integer({ minimum: 1, maximum: CONVERSATIONS_MAX_LIMIT, description: `default ${CONVERSATIONS_DEFAULT_LIMIT}` })

// ---------------------------------------------------------------- client → gateway

export const AuthFrame = Strict({
  type: Type.Literal('auth'),
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  ref: Type.Optional(Ref)
})
export type AuthFrame = Static<typeof AuthFrame>

/** To a user: the direct conversation between sender and `to`. */
export const SendToUserFrame = Strict({
  type: Type.Literal('send'),
  id: Uuid,
  to: Uuid,
  body: Body,
  ref: Type.Optional(Ref)
})

/** Into a conversation the sender is a member of. */
export const SendToConversationFrame = Strict({
  type: Type.Literal('send'),
  id: Uuid,
  conversationId: ConversationId,
  body: Body,
  ref: Type.Optional(Ref)
})

export const SendFrame = Type.Union([SendToUserFrame, SendToConversationFrame])
export type SendFrame = Static<typeof SendFrame>

export const SyncFrame = Strict({
  type: Type.Literal('sync'),
  after: Cursor,
  ref: Type.Optional(Ref)
})
export type SyncFrame = Static<typeof SyncFrame>

export const HistoryFrame = Strict({
  type: Type.Literal('history'),
  conversationId: ConversationId,
  before: Type.Optional(Seq),
  limit: Type.Optional(HistoryLimit),
  ref: Type.Optional(Ref)
})
export type HistoryFrame = Static<typeof HistoryFrame>

export const ConversationsFrame = Strict({
  type: Type.Literal('conversations'),
  /** The `nextCursor` of the page before; the first page without it. */
  after: Type.Optional(PageCursor),
  limit: Type.Optional(ConversationsLimit),
  ref: Type.Optional(Ref)
})
export type ConversationsFrame = Static<typeof ConversationsFrame>

export const ReceiptFrame = Strict({
  type: Type.Literal('receipt'),
  conversationId: ConversationId,
  seq: Seq,
  kind: ReceiptKind,
  ref: Type.Optional(Ref)
})
export type ReceiptFrame = Static<typeof ReceiptFrame>

export const TypingFrame = Strict({
  type: Type.Literal('typing'),
  conversationId: ConversationId,
  ref: Type.Optional(Ref)
})
export type TypingFrame = Static<typeof TypingFrame>

export const PingFrame = Strict({
  type: Type.Literal('ping'),
  ref: Type.Optional(Ref)
})
export type PingFrame = Static<typeof PingFrame>

const GroupTitle = Type.String({ minLength: 1, maxLength: GROUP_TITLE_MAX })
/** Initial members besides the creator (who is the owner); at most GROUP_MAX_MEMBERS in all, checked by the writer. */
const GroupMembers = Type.Array(Uuid, { maxItems: 100_000 })

/**
 * Group operations (issue 5). The reply is a `conversation` frame with the
 * group as it is after the change, the event's `seq` and this `ref`; every
 * member's sockets (and the added or removed user's) get a `conversation`
 * frame too. Errors: forbidden (not a member, or not the owner or an admin),
 * not_found (no such group, user or membership), bad_request (already a
 * member), too_large (over the group size limit).
 */
export const GroupFrame = Type.Union([
  Strict({ type: Type.Literal('group'), op: Type.Literal('create'), title: GroupTitle, members: GroupMembers, ref: Type.Optional(Ref) }),
  Strict({ type: Type.Literal('group'), op: Type.Literal('add'), conversationId: GroupId, userId: Uuid, ref: Type.Optional(Ref) }),
  Strict({ type: Type.Literal('group'), op: Type.Literal('remove'), conversationId: GroupId, userId: Uuid, ref: Type.Optional(Ref) }),
  Strict({ type: Type.Literal('group'), op: Type.Literal('leave'), conversationId: GroupId, ref: Type.Optional(Ref) }),
  Strict({ type: Type.Literal('group'), op: Type.Literal('rename'), conversationId: GroupId, title: GroupTitle, ref: Type.Optional(Ref) }),
  Strict({ type: Type.Literal('group'), op: Type.Literal('role'), conversationId: GroupId, userId: Uuid, role: GroupRole, ref: Type.Optional(Ref) }, { description: 'the owner sets a member\'s role' })
])
export type GroupFrame = Static<typeof GroupFrame>

/** Every client frame schema by its `type`, so a validator can name the problem precisely. */
export const ClientFrames = {
  auth: AuthFrame,
  send: SendFrame,
  sync: SyncFrame,
  history: HistoryFrame,
  conversations: ConversationsFrame,
  receipt: ReceiptFrame,
  typing: TypingFrame,
  ping: PingFrame,
  group: GroupFrame
} as const
export type ClientFrameType = keyof typeof ClientFrames

export const ClientFrame = Type.Union([AuthFrame, SendFrame, SyncFrame, HistoryFrame, ConversationsFrame, ReceiptFrame, TypingFrame, PingFrame, GroupFrame])
export type ClientFrame = Static<typeof ClientFrame>

// ---------------------------------------------------------------- gateway → client

export const ReadyFrame = Strict({
  type: Type.Literal('ready'),
  userId: Uuid,
  connectionId: Type.String(),
  ref: Type.Optional(Ref)
})
export type ReadyFrame = Static<typeof ReadyFrame>

/** The reply to an `auth` frame on a socket that is ready already: the socket now lives on the new token. */
export const AuthedFrame = Strict({
  type: Type.Literal('authed'),
  expiresAt: Type.String({ format: 'date-time', description: 'when the new token expires; renew before it (the socket is closed with 4401 30 seconds after)' }),
  ref: Type.Optional(Ref)
})
export type AuthedFrame = Static<typeof AuthedFrame>

/** Sent only once the CHAT stream stored the message; the same for a repeated id. */
export const Ack = Strict({
  id: Uuid,
  conversationId: ConversationId,
  seq: Seq,
  sentAt: Type.String({ format: 'date-time' })
})
export type Ack = Static<typeof Ack>

export const AckFrame = Strict({
  type: Type.Literal('ack'),
  ...Ack.properties,
  ref: Type.Optional(Ref)
})
export type AckFrame = Static<typeof AckFrame>

export const MessageFrame = Strict({
  type: Type.Literal('message'),
  message: Message
})
export type MessageFrame = Static<typeof MessageFrame>

export const SyncedFrame = Strict({
  type: Type.Literal('synced'),
  cursor: Cursor,
  ref: Type.Optional(Ref)
})
export type SyncedFrame = Static<typeof SyncedFrame>

export const HistoryReplyFrame = Strict({
  type: Type.Literal('history'),
  conversationId: ConversationId,
  items: Type.Array(Message, { description: 'newest first' }),
  hasMore: Type.Boolean(),
  ref: Type.Optional(Ref)
})
export type HistoryReplyFrame = Static<typeof HistoryReplyFrame>

export const ConversationsReplyFrame = Strict({
  type: Type.Literal('conversations'),
  items: Type.Array(Conversation),
  /** Where the next page starts; absent on the last. */
  nextCursor: Type.Optional(PageCursor),
  ref: Type.Optional(Ref)
})
export type ConversationsReplyFrame = Static<typeof ConversationsReplyFrame>

export const ReceiptEventFrame = Strict({
  type: Type.Literal('receipt'),
  conversationId: ConversationId,
  userId: Uuid,
  seq: Seq,
  kind: ReceiptKind
})
export type ReceiptEventFrame = Static<typeof ReceiptEventFrame>

export const TypingEventFrame = Strict({
  type: Type.Literal('typing'),
  conversationId: ConversationId,
  userId: Uuid
})
export type TypingEventFrame = Static<typeof TypingEventFrame>

/** What changed a group, ordered with its messages by `seq`: members see messages with seq > the seq that added them, and up to the one that removed them. */
export const ConversationChange = Strict({
  type: Type.Union([Type.Literal('created'), Type.Literal('member_added'), Type.Literal('member_removed'), Type.Literal('member_left'), Type.Literal('renamed'), Type.Literal('role_changed')]),
  seq: Seq,
  actorId: Uuid,
  userId: Type.Optional(Uuid)
})
export type ConversationChange = Static<typeof ConversationChange>

/**
 * A conversation the socket's user is in (or was just removed from: then
 * `members` no longer lists them). `change` says what happened for groups;
 * `ref` is set on the reply to a `group` frame.
 */
export const ConversationFrame = Strict({
  type: Type.Literal('conversation'),
  conversation: Conversation,
  change: Type.Optional(ConversationChange),
  ref: Type.Optional(Ref)
})
export type ConversationFrame = Static<typeof ConversationFrame>

export const PongFrame = Strict({
  type: Type.Literal('pong'),
  ref: Type.Optional(Ref)
})
export type PongFrame = Static<typeof PongFrame>

export const ErrorFrame = Strict({
  type: Type.Literal('error'),
  code: ErrorCode,
  message: Type.String(),
  ref: Type.Optional(Ref)
})
export type ErrorFrame = Static<typeof ErrorFrame>

export const ServerFrame = Type.Union([
  ReadyFrame, AuthedFrame, AckFrame, MessageFrame, SyncedFrame, HistoryReplyFrame, ConversationsReplyFrame,
  ReceiptEventFrame, TypingEventFrame, ConversationFrame, PongFrame, ErrorFrame
])
export type ServerFrame = Static<typeof ServerFrame>

/** WebSocket close codes of the contract, plus 4029 for a client over its frame rate and 4429 for a user over WS_MAX_SOCKETS_PER_USER. */
export const CloseCode = {
  normal: 1000,
  /** A text frame that is not UTF-8 (RFC 6455; the WebSocket library closes it). */
  invalidPayload: 1007,
  tooLarge: 1009,
  restarting: 1012,
  tryAgainLater: 1013,
  tooSlow: 4008,
  rateLimited: 4029,
  unauthorized: 4401,
  forbidden: 4403,
  authTimeout: 4408,
  tooManySockets: 4429
} as const

// ---------------------------------------------------------------- REST bodies

export const ConversationParams = Strict({
  id: ConversationId
})
export type ConversationParams = Static<typeof ConversationParams>

export const BlockParams = Strict({
  userId: Uuid
})
export type BlockParams = Static<typeof BlockParams>

export const BlocksResponse = Strict({
  items: Type.Array(Strict({ userId: Uuid, since: Type.String({ format: 'date-time' }) }), { description: 'oldest first' })
})
export type BlocksResponse = Static<typeof BlocksResponse>

export const ConversationsQuery = Strict({
  cursor: Type.Optional(PageCursor),
  limit: Type.Optional(ConversationsLimit)
})
export type ConversationsQuery = Static<typeof ConversationsQuery>

export const ConversationsResponse = Strict({
  items: Type.Array(Conversation, { description: 'newest activity first' }),
  /** Where the next page starts (`?cursor=`); absent on the last. */
  nextCursor: Type.Optional(PageCursor)
})
export type ConversationsResponse = Static<typeof ConversationsResponse>

export const MessagesQuery = Strict({
  before: Type.Optional(Seq),
  limit: Type.Optional(HistoryLimit)
})
export type MessagesQuery = Static<typeof MessagesQuery>

export const MessagesResponse = Strict({
  items: Type.Array(Message, { description: 'newest first' }),
  hasMore: Type.Boolean()
})
export type MessagesResponse = Static<typeof MessagesResponse>

export const SendMessageBody = Strict({
  id: Uuid,
  body: Body
})
export type SendMessageBody = Static<typeof SendMessageBody>

export const CreateGroupBody = Strict({
  title: GroupTitle,
  members: GroupMembers
})
export type CreateGroupBody = Static<typeof CreateGroupBody>

export const AddMemberBody = Strict({
  userId: Uuid
})
export type AddMemberBody = Static<typeof AddMemberBody>

export const MemberRoleBody = Strict({
  role: GroupRole
})
export type MemberRoleBody = Static<typeof MemberRoleBody>

export const RenameGroupBody = Strict({
  title: GroupTitle
})
export type RenameGroupBody = Static<typeof RenameGroupBody>

export const GroupParams = Strict({
  id: GroupId
})
export type GroupParams = Static<typeof GroupParams>

export const MemberParams = Strict({
  id: GroupId,
  userId: Uuid
})
export type MemberParams = Static<typeof MemberParams>

/** The group after a change, and the seq of the change in CHAT. */
export const GroupChangeResponse = Strict({
  conversation: Conversation,
  seq: Seq
})
export type GroupChangeResponse = Static<typeof GroupChangeResponse>
