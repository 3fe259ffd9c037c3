import Type, { type Static, type TSchema } from 'typebox'
import { Cursor, GroupRole, PageCursor, Strict } from './schema.js'
import { Conversation, ConversationEvent, ConversationId, Message } from './chat.js'
import { errorCodes } from './errors.js'

// NATS request/reply between chat-gateway and message-writer (DESIGN.md
// "The shape"). Each method is one subject, `<ns>.rpc.<method>`
// (chatSubjects(ns).rpc(method)), served by every writer replica in the queue
// group `writer`. The request is the method's JSON object; the reply is always
// a ChatRpcReply envelope, never a bare error.
//
// Evolving it (groups, issue 5) without breaking running gateways or writers:
// - a new capability is a new method (a new subject): a writer that does not
//   know it yet does not subscribe, so an old replica never answers it and the
//   caller sees `unavailable` rather than a wrong answer;
// - results may gain properties (callers ignore what they do not know), so
//   result schemas do not forbid additional properties;
// - requests are strict (unknown properties are `bad_request`), so a typo never
//   passes silently; a new optional request property needs the writers first.

const UserId = Type.String({ format: 'uuid' })

/**
 * The codes a method can fail with (DESIGN.md "Error codes"): what a
 * request may be refused for, and `unavailable` for everything else (no
 * writer answered, or it failed).
 */
export const ChatRpcErrorCode = errorCodes('bad_request', 'forbidden', 'not_found', 'too_large', 'rate_limited', 'unavailable')
export type ChatRpcErrorCode = Static<typeof ChatRpcErrorCode>

export const ChatRpcErrorBody = Type.Object({
  code: ChatRpcErrorCode,
  message: Type.String({ description: 'for humans and logs; may change' })
})
export type ChatRpcErrorBody = Static<typeof ChatRpcErrorBody>

/** Every reply: `{ ok: true, result }` or `{ ok: false, error: { code, message } }`. */
export const ChatRpcReply = <T extends TSchema>(result: T) => Type.Union([
  Type.Object({ ok: Type.Literal(true), result }),
  Type.Object({ ok: Type.Literal(false), error: ChatRpcErrorBody })
])
export type ChatRpcReply<R> = { ok: true, result: R } | { ok: false, error: ChatRpcErrorBody }

/** A user as the chat side knows them (the writer's projection of USERS). */
export const ChatUser = Type.Object({
  id: UserId,
  username: Type.String(),
  displayName: Type.String()
})
export type ChatUser = Static<typeof ChatUser>

/**
 * A member's standing in a conversation. Direct conversations have two
 * `member`s; groups (issue 5) have `admin`s too.
 */
export const MemberRole = GroupRole
export type MemberRole = Static<typeof MemberRole>

export const HISTORY_DEFAULT_LIMIT = 50
export const HISTORY_MAX_LIMIT = 100
export const CONVERSATIONS_DEFAULT_LIMIT = 100
export const CONVERSATIONS_MAX_LIMIT = 200
/** The most users one user may block. */
export const BLOCKS_MAX = 1000
/** Small items (an id and a seq): a page of these stays far below NATS's max payload. */
export const MEMBERSHIPS_MAX_LIMIT = 1000
/** Users one conversations.membershipsOf request may name. */
export const MEMBERSHIPS_BATCH_MAX_USERS = 100
/** Memberships conversations.membershipsOf returns per user; a user with more pages on with conversations.memberships. */
export const MEMBERSHIPS_BATCH_PER_USER = 100
export const SINCE_DEFAULT_LIMIT = 500
export const SINCE_MAX_LIMIT = 1000


/**
 * The methods: name → request and result schemas. Replies may return fewer
 * items than `limit` with `hasMore: true` to stay under NATS's max payload;
 * callers page on until `hasMore` is false.
 */
export const ChatRpcMethods = {
  /** The user, or null when the projection has no such user (never registered, or deleted). */
  'users.get': {
    request: Strict({ userId: UserId }),
    result: Type.Object({ user: Type.Union([ChatUser, Type.Null()]) })
  },

  /**
   * The conversations `userId` is a member of now, newest activity first, a
   * page at a time: `nextCursor` (absent on the last page) is where the next
   * one starts. A conversation whose activity changes between two pages may
   * move from one to the other. Errors: `bad_request` for a cursor this
   * method did not make.
   */
  'conversations.list': {
    request: Strict({
      userId: UserId,
      after: Type.Optional(PageCursor),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CONVERSATIONS_MAX_LIMIT, default: CONVERSATIONS_DEFAULT_LIMIT }))
    }),
    result: Type.Object({ items: Type.Array(Conversation), nextCursor: Type.Optional(PageCursor) })
  },

  /**
   * The ids of the conversations `userId` is a member of now, with the seq
   * they joined at (0 for a direct one), by id, a page at a time from after
   * `afterId`: a stable order, so that paging through misses none (what a
   * gateway subscribes a connecting user to). `nextAfterId` is absent on the
   * last page.
   */
  'conversations.memberships': {
    request: Strict({
      userId: UserId,
      afterId: Type.Optional(ConversationId),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MEMBERSHIPS_MAX_LIMIT, default: MEMBERSHIPS_MAX_LIMIT }))
    }),
    result: Type.Object({
      items: Type.Array(Type.Object({ conversationId: ConversationId, joinedSeq: Cursor })),
      nextAfterId: Type.Optional(ConversationId)
    })
  },

  /**
   * The first page of conversations.memberships for each of several users
   * at once (a gateway asks for everyone who connects within one turn of
   * its event loop: one request and one query, not one per socket, in a
   * reconnect storm). At most MEMBERSHIPS_BATCH_PER_USER items per user,
   * with `nextAfterId` when the user has more (the rest through
   * conversations.memberships). Users whose page would not fit in the reply
   * (NATS's max payload) are left out of `users`: the caller asks for them
   * one by one.
   */
  'conversations.membershipsOf': {
    request: Strict({
      userIds: Type.Array(UserId, { minItems: 1, maxItems: MEMBERSHIPS_BATCH_MAX_USERS })
    }),
    result: Type.Object({
      users: Type.Array(Type.Object({
        userId: UserId,
        items: Type.Array(Type.Object({ conversationId: ConversationId, joinedSeq: Cursor })),
        nextAfterId: Type.Optional(ConversationId)
      }))
    })
  },

  /**
   * The conversation, if `userId` is a member now, with their role. A direct
   * conversation with no message yet, between `userId` and an existing user,
   * is returned with `lastSeq: 0` (so sending `to` a user works the same as
   * sending into a conversation). Errors: `forbidden` when `userId` is not a
   * member (any direct id that does not contain `userId`), `not_found` when
   * there is no such conversation (or the other user of a new direct
   * conversation does not exist), `bad_request` for a direct id that is not
   * the canonical one of directConversationId().
   */
  'conversations.get': {
    request: Strict({ conversationId: ConversationId, userId: UserId }),
    result: Type.Object({ conversation: Conversation, role: MemberRole })
  },

  /**
   * Messages of one conversation with `seq < before` (all if omitted), newest
   * first, only those stored by the writer. Errors: `forbidden` (not a
   * member, now or before), `not_found`.
   */
  'messages.history': {
    request: Strict({
      conversationId: ConversationId,
      userId: UserId,
      before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT }))
    }),
    result: Type.Object({ items: Type.Array(Message), hasMore: Type.Boolean() })
  },

  /**
   * Catch-up for `sync`: messages with `after < seq <= storedThrough` in every
   * conversation `userId` belongs to, ascending by seq. `storedThrough` is a
   * seq at or below which every CHAT entry is in PostgreSQL (it never counts
   * an uncommitted one; it may lag the stream). With `hasMore: false` the
   * caller has everything up to `max(after, storedThrough)` and reads the rest
   * from the CHAT stream from `max(after, storedThrough) + 1`; with
   * `hasMore: true` it calls again with `after` = the last item's seq.
   */
  'messages.since': {
    request: Strict({
      userId: UserId,
      after: Cursor,
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SINCE_MAX_LIMIT, default: SINCE_DEFAULT_LIMIT }))
    }),
    result: Type.Object({ items: Type.Array(Message), storedThrough: Cursor, hasMore: Type.Boolean() })
  },

  /**
   * Stores `userId`'s read cursor in the conversation; it never moves
   * backwards (a lower seq than the stored one is accepted and ignored).
   * Errors: `forbidden`, `not_found`.
   */
  'receipts.read': {
    request: Strict({ conversationId: ConversationId, userId: UserId, seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
    result: Type.Object({})
  },

  /**
   * Whether a group membership event may be published now (issue 5): the
   * actor's role, the target's membership, the title, the size limit
   * (GROUP_MAX_MEMBERS of the writer). Returns the conversation as it will be
   * after the event. The writer checks again when it stores the event.
   * Errors: `forbidden` (not a member, or not allowed to), `not_found`,
   * `bad_request` (already a member, an id in use, ...), `too_large` (the
   * group would be over its size limit), `rate_limited` (the actor created
   * or added more in the last hour than GROUP_CREATIONS_PER_HOUR or
   * GROUP_ADDITIONS_PER_HOUR of the writer allow).
   */
  'groups.authorize': {
    request: Strict({ event: ConversationEvent }),
    result: Type.Object({ conversation: Conversation })
  },

  /** Whom `userId` blocked, oldest first (at most BLOCKS_MAX). */
  'blocks.list': {
    request: Strict({ userId: UserId }),
    result: Type.Object({ items: Type.Array(Type.Object({ userId: UserId, since: Type.String({ format: 'date-time' }) })) })
  },

  /**
   * `userId` blocks (`blocked: true`) or unblocks `otherId`; doing it twice
   * changes nothing. Errors: `bad_request` (oneself), `not_found` (no such
   * user to block), `too_large` (BLOCKS_MAX blocks already).
   */
  'blocks.set': {
    request: Strict({ userId: UserId, otherId: UserId, blocked: Type.Boolean() }),
    result: Type.Object({})
  },

  /** How far the writer has stored CHAT (see messages.since). */
  'writer.position': {
    request: Strict({}),
    result: Type.Object({ storedThrough: Cursor })
  }
} satisfies Record<string, { request: TSchema, result: TSchema }>

export type ChatRpcMethod = keyof typeof ChatRpcMethods
export const chatRpcMethodNames = Object.keys(ChatRpcMethods) as ChatRpcMethod[]

/** What a caller sends; properties with defaults (`limit`) may be left out. */
export type ChatRpcRequest<M extends ChatRpcMethod> = Static<(typeof ChatRpcMethods)[M]['request']>
export type ChatRpcResult<M extends ChatRpcMethod> = Static<(typeof ChatRpcMethods)[M]['result']>

/**
 * What message-writer publishes on chatSubjects(ns).deadLetter (also kept in
 * its DEADLETTER stream): the original payload, byte for byte, with these
 * headers saying where it came from and why it was not stored.
 */
export const DeadLetterHeaders = {
  reason: 'Metadome-Reason',
  subject: 'Metadome-Subject',
  streamSeq: 'Metadome-Stream-Seq'
} as const
