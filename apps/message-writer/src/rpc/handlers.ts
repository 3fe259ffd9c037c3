import type { Kysely } from 'kysely'
import {
  BLOCKS_MAX, CONVERSATIONS_DEFAULT_LIMIT, MEMBERSHIPS_BATCH_PER_USER, MEMBERSHIPS_MAX_LIMIT, directConversationId, directMembers, HISTORY_DEFAULT_LIMIT, SINCE_DEFAULT_LIMIT,
  type ChatRpcMethod, type ChatRpcRequest, type ChatRpcResult, type Conversation, type ConversationEvent, type Message, type MemberRole
} from '@metadome/contracts'
import type { ChatDatabase } from '../db/database.js'
import type { MessageRow } from '../db/message.table.js'
import { conversationsOf, findConversation, findMembership, membershipsOf, membershipsOfUsers, type ConversationPosition, type ConversationWithMembers } from '../db/conversation.repository.js'
import { historyPage, messagesSince, type SeqWindow } from '../db/message.repository.js'
import { findUser } from '../db/user.repository.js'
import { advanceReadCursor } from '../db/read-cursor.repository.js'
import { eventIdsBy, groupConversation, lastMessageSeq, loadGroup, unknownUsers } from '../db/group.repository.js'
import { nextState } from '../writer/group-state.js'
import { RpcError } from './rpc-error.js'
import { addBlock, blockersOf, blocksOf, countBlocks, removeBlock } from '../db/block.repository.js'
import type { AuthorizedChanges } from './authorized-changes.js'

export interface HandlerContext {
  db: Kysely<ChatDatabase>
  /** The highest seq at and below which all of CHAT is stored (see position.ts). */
  storedThrough: () => Promise<number>
  /** The most bytes of items one reply may carry (below NATS's max payload). */
  maxItemBytes: () => number
  /** GROUP_MAX_MEMBERS. */
  groupMaxMembers: number
  groupLimits: GroupLimits
  /** Creations and additions this replica authorized lately (see withinGroupLimits). */
  authorized: AuthorizedChanges
}

/** A user who blocked the actor is not put in a group by them. */
async function notAddingWhoBlocked (ctx: HandlerContext, event: ConversationEvent): Promise<void> {
  const joining = event.type === 'created' ? event.members.map((m) => m.userId).filter((u) => u !== event.actorId) : event.type === 'member_added' ? [event.userId] : []
  const blockers = await blockersOf(ctx.db, event.actorId, joining)
  if (blockers.length > 0) throw new RpcError('forbidden', `cannot add ${blockers.join(', ')}`)
}

/** GROUP_CREATIONS_PER_HOUR and GROUP_ADDITIONS_PER_HOUR: what one user may do to groups in an hour. */
export interface GroupLimits {
  creationsPerHour: number
  additionsPerHour: number
}

const HOUR_MS = 60 * 60 * 1000

/**
 * Refuses a creation or an addition over the actor's hourly limit. The count
 * is the events the writer stored (shared by every gateway and replica) and
 * those this replica authorized that are not stored yet (a gateway publishes
 * after the reply, and the writer stores later): one by event id, so an
 * event counted in both is counted once.
 */
async function withinGroupLimits (ctx: HandlerContext, event: ConversationEvent): Promise<() => void> {
  const kind = event.type === 'created' ? 'created' : event.type === 'member_added' ? 'member_added' : undefined
  if (kind === undefined) return () => {}
  const limit = kind === 'created' ? ctx.groupLimits.creationsPerHour : ctx.groupLimits.additionsPerHour
  const stored = new Set(await eventIdsBy(ctx.db, event.actorId, kind, new Date(Date.now() - HOUR_MS), limit))
  const pending = ctx.authorized.of(event.actorId, kind).filter((id) => id !== event.id && !stored.has(id))
  if (!stored.has(event.id) && stored.size + pending.length >= limit) {
    throw new RpcError('rate_limited', kind === 'created'
      ? `at most ${limit} groups may be created in an hour`
      : `at most ${limit} members may be added to groups in an hour`)
  }
  // Counted once authorized: a change refused for another reason (an
  // unknown user, a block) must not use up the limit.
  return () => { ctx.authorized.add(event.actorId, kind, event.id) }
}

export type Handlers = { [M in ChatRpcMethod]: (request: ChatRpcRequest<M>) => Promise<ChatRpcResult<M>> }

export function toMessage (row: MessageRow): Message {
  return { id: row.id, conversationId: row.conversation_id, senderId: row.sender_id, seq: row.seq, sentAt: row.sent_at.toISOString(), body: row.body }
}

export function toConversation (row: ConversationWithMembers & { unread?: number, joined_seq?: number }): Conversation {
  return {
    id: row.id,
    kind: row.kind,
    ...(row.title === null ? {} : { title: row.title }),
    members: row.members,
    createdAt: row.created_at.toISOString(),
    lastSeq: Number(row.last_seq),
    ...(row.kind === 'group' ? { roles: row.roles } : {}),
    ...(row.unread === undefined ? {} : { unread: row.unread }),
    // In the caller's list: a group member sees messages after it only.
    ...(row.kind === 'group' && row.joined_seq !== undefined ? { joinedSeq: Number(row.joined_seq) } : {}),
    reads: Object.fromEntries(Object.entries(row.reads).map(([k, v]) => [k, Number(v)]))
  }
}

/**
 * Takes items while they fit in `maxBytes` (always at least one), so a page of
 * large messages is cut short, with hasMore, rather than rejected by NATS.
 */
function fit (rows: MessageRow[], limit: number, maxBytes: number): { items: Message[], hasMore: boolean } {
  const items: Message[] = []
  let bytes = 0
  for (const row of rows) {
    if (items.length === limit) return { items, hasMore: true }
    const item = toMessage(row)
    bytes += Buffer.byteLength(JSON.stringify(item)) + 1
    if (bytes > maxBytes && items.length > 0) return { items, hasMore: true }
    items.push(item)
  }
  return { items, hasMore: false }
}

/** A conversation list cursor: base64url of `<lastSeq>:<id>`, opaque to clients. */
function encodePosition (p: ConversationPosition): string {
  return Buffer.from(`${p.lastSeq}:${p.id}`).toString('base64url')
}

function decodePosition (cursor: string): ConversationPosition {
  const [seq, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(':')
  const lastSeq = Number(seq)
  if (rest.length > 0 || id === undefined || !Number.isSafeInteger(lastSeq) || lastSeq < 0 || !/^([0-9a-f-]{36}|dm_[0-9a-f-]{36}_[0-9a-f-]{36})$/.test(id)) {
    throw new RpcError('bad_request', 'not a cursor of this list')
  }
  return { lastSeq, id }
}

const DIRECT_WINDOW: SeqWindow = { joinedSeq: 0, leftSeq: null }

/**
 * Who may do what in a conversation. A direct conversation's members are in
 * its id, so a direct id needs no lookup to say `forbidden`; it must be the
 * canonical id, or two ids would name one conversation.
 */
function directPair (conversationId: string): [string, string] | undefined {
  const pair = directMembers(conversationId)
  if (pair !== undefined && directConversationId(pair[0], pair[1]) !== conversationId) {
    throw new RpcError('bad_request', `${conversationId} is not the canonical id of a direct conversation`)
  }
  return pair
}

/** The member's window of visible seqs, for reading (a former member reads up to when they left). */
async function readWindow (ctx: HandlerContext, conversationId: string, userId: string): Promise<SeqWindow> {
  const pair = directPair(conversationId)
  if (pair !== undefined) {
    if (!pair.includes(userId)) throw new RpcError('forbidden', 'not a member of this conversation')
    return DIRECT_WINDOW
  }
  const membership = await findMembership(ctx.db, conversationId, userId)
  if (membership !== undefined) return { joinedSeq: membership.joined_seq, leftSeq: membership.left_seq }
  if (await findConversation(ctx.db, conversationId) === undefined) throw new RpcError('not_found', 'no such conversation')
  throw new RpcError('forbidden', 'not a member of this conversation')
}

/** The user's role if they are a member now. */
async function currentRole (ctx: HandlerContext, conversationId: string, userId: string): Promise<MemberRole> {
  const pair = directPair(conversationId)
  if (pair !== undefined) {
    if (!pair.includes(userId)) throw new RpcError('forbidden', 'not a member of this conversation')
    return 'member'
  }
  const membership = await findMembership(ctx.db, conversationId, userId)
  if (membership !== undefined && membership.left_seq === null) return membership.role
  if (membership === undefined && await findConversation(ctx.db, conversationId) === undefined) throw new RpcError('not_found', 'no such conversation')
  throw new RpcError('forbidden', 'not a member of this conversation')
}

export function handlers (ctx: HandlerContext): Handlers {
  return {
    async 'users.get' ({ userId }) {
      return { user: await findUser(ctx.db, userId) ?? null }
    },

    async 'conversations.list' ({ userId, after, limit = CONVERSATIONS_DEFAULT_LIMIT }) {
      const rows = await conversationsOf(ctx.db, userId, { after: after === undefined ? undefined : decodePosition(after), limit: limit + 1 })
      const items: Conversation[] = []
      let bytes = 0
      for (const row of rows.slice(0, limit)) {
        const item = toConversation(row)
        bytes += Buffer.byteLength(JSON.stringify(item)) + 1
        // A page of large groups could outgrow NATS's max payload: end it early.
        if (bytes > ctx.maxItemBytes() && items.length > 0) break
        items.push(item)
      }
      const last = items.at(-1)
      const more = items.length < rows.length
      return { items, ...(more && last !== undefined ? { nextCursor: encodePosition({ lastSeq: last.lastSeq, id: last.id }) } : {}) }
    },

    async 'conversations.memberships' ({ userId, afterId, limit = MEMBERSHIPS_MAX_LIMIT }) {
      const rows = await membershipsOf(ctx.db, userId, afterId, limit + 1)
      const items = rows.slice(0, limit).map((r) => ({ conversationId: r.conversation_id, joinedSeq: r.joined_seq }))
      const last = items.at(-1)
      return { items, ...(rows.length > limit && last !== undefined ? { nextAfterId: last.conversationId } : {}) }
    },

    async 'conversations.membershipsOf' ({ userIds }) {
      // PostgreSQL answers uuids in lower case: the ids are keyed so.
      const unique = [...new Set(userIds.map((u) => u.toLowerCase()))]
      const byUser = new Map<string, ChatRpcResult<'conversations.memberships'>['items']>(unique.map((u) => [u, []]))
      for (const r of await membershipsOfUsers(ctx.db, unique, MEMBERSHIPS_BATCH_PER_USER + 1)) {
        byUser.get(r.user_id)?.push({ conversationId: r.conversation_id, joinedSeq: r.joined_seq })
      }
      const users: ChatRpcResult<'conversations.membershipsOf'>['users'] = []
      let bytes = 0
      for (const [userId, rows] of byUser) {
        const items = rows.slice(0, MEMBERSHIPS_BATCH_PER_USER)
        const last = items.at(-1)
        const user = { userId, items, ...(rows.length > items.length && last !== undefined ? { nextAfterId: last.conversationId } : {}) }
        bytes += Buffer.byteLength(JSON.stringify(user)) + 1
        // Past NATS's max payload the rest are left out; the caller asks for them one by one.
        if (bytes > ctx.maxItemBytes() && users.length > 0) break
        users.push(user)
      }
      return { users }
    },

    async 'conversations.get' ({ conversationId, userId }) {
      const role = await currentRole(ctx, conversationId, userId)
      const row = await findConversation(ctx.db, conversationId)
      if (row !== undefined) return { conversation: toConversation(row), role }
      // Not a group (currentRole found none) but a direct conversation with
      // no message yet: it exists as soon as both users do.
      const pair = directMembers(conversationId) as [string, string]
      const other = pair[0] === userId ? pair[1] : pair[0]
      if (await findUser(ctx.db, other) === undefined) throw new RpcError('not_found', 'no such user')
      return {
        conversation: { id: conversationId, kind: 'direct', members: [...new Set(pair)], createdAt: new Date().toISOString(), lastSeq: 0 },
        role
      }
    },

    async 'messages.history' ({ conversationId, userId, before, limit = HISTORY_DEFAULT_LIMIT }) {
      const window = await readWindow(ctx, conversationId, userId)
      const rows = await historyPage(ctx.db, { conversationId, before, limit, ...window })
      const page = fit(rows, limit, ctx.maxItemBytes())
      return { items: page.items, hasMore: page.hasMore || rows.length > limit }
    },

    async 'messages.since' ({ userId, after, limit = SINCE_DEFAULT_LIMIT }) {
      // Read the position first: everything at or below it was committed
      // before the query below starts, so the query sees all of it.
      const storedThrough = await ctx.storedThrough()
      const rows = await messagesSince(ctx.db, { userId, after, through: storedThrough, limit })
      const page = fit(rows, limit, ctx.maxItemBytes())
      return { items: page.items, storedThrough, hasMore: page.hasMore || rows.length > limit }
    },

    async 'receipts.read' ({ conversationId, userId, seq }) {
      await currentRole(ctx, conversationId, userId)
      await advanceReadCursor(ctx.db, { conversationId, userId, seq })
      return {}
    },

    async 'groups.authorize' ({ event }) {
      const counted = await withinGroupLimits(ctx, event)
      await notAddingWhoBlocked(ctx, event)
      const before = await loadGroup(ctx.db, event.conversationId)
      // The seq is not known before publishing: any later than every stored
      // one orders the same. A refusal (GroupRefusal) is the reply as it is.
      const after = nextState(before, event, Number.MAX_SAFE_INTEGER, ctx.groupMaxMembers)
      const joining = event.type === 'created' ? event.members.map((m) => m.userId) : event.type === 'member_added' ? [event.userId] : []
      const unknown = await unknownUsers(ctx.db, joining)
      if (unknown.length > 0) throw new RpcError('not_found', `no such user: ${unknown.join(', ')}`)
      const lastSeq = before === undefined ? 0 : await lastMessageSeq(ctx.db, event.conversationId)
      counted()
      return { conversation: groupConversation(event.conversationId, after, lastSeq) }
    },

    async 'blocks.list' ({ userId }) {
      const rows = await blocksOf(ctx.db, userId, BLOCKS_MAX)
      return { items: rows.map((r) => ({ userId: r.blocked_id, since: r.created_at.toISOString() })) }
    },

    async 'blocks.set' ({ userId, otherId, blocked }) {
      if (userId === otherId) throw new RpcError('bad_request', 'one cannot block oneself')
      if (!blocked) {
        await removeBlock(ctx.db, userId, otherId)
        return {}
      }
      if (await findUser(ctx.db, otherId) === undefined) throw new RpcError('not_found', 'no such user')
      if (await countBlocks(ctx.db, userId) >= BLOCKS_MAX) throw new RpcError('too_large', `at most ${BLOCKS_MAX} users may be blocked`)
      await addBlock(ctx.db, userId, otherId)
      return {}
    },

    async 'writer.position' () {
      return { storedThrough: await ctx.storedThrough() }
    }
  }
}
