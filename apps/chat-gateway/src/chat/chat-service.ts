import { randomUUID } from 'node:crypto'
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import type { Namespace } from '@metadome/nats'
import {
  chatSubjects, directConversationId, directMembers, directPairOf, ChatRpcError, ConversationEvent, MAX_BODY_BYTES, MAX_BODY_DEPTH, HISTORY_DEFAULT_LIMIT, nestedDeeperThan,
  type Ack, type ChatRpcClient, type Conversation, type ConversationChange, type GroupFrame, type Message, type ReceiptKind, type StreamMessage
} from '@metadome/contracts'
import { Compile } from 'typebox/compile'
import { BadRequest, Forbidden, NotFound, TooLarge, Unavailable, httpError } from '@metadome/service'
import type { Hub } from './hub.js'
import type { BlockList } from './block-list.js'
import { TtlSet } from './ttl-set.js'
import type { StreamPublisher } from './stream-publisher.js'

export interface ChatServiceDeps {
  publisher: StreamPublisher
  js: JetStreamClient
  jsm: JetStreamManager
  ns: Namespace
  writer: ChatRpcClient
  hub: Hub
  log: FastifyBaseLogger
  stream: string
  blocks: BlockList
}

export interface SendRequest {
  id: string
  body: StreamMessage['body']
  to?: string
  conversationId?: string
}

export interface SendOptions {
  /** The body's size was checked already (when the frame was read). */
  bodyChecked?: boolean
  /** Called just before publishing: the sending socket gets the ack, not a `message` copy. */
  beforePublish?: (id: string) => void
  /** Called when the message will not come back live (failed, or a repeated id). */
  notComing?: (id: string) => void
}

/**
 * The error a caller (frame or route) reports: the HTTP error of the
 * writer's code with its message, or, when no writer could answer, an
 * Unavailable that tells nothing of why.
 */
function fromWriter (err: unknown): Error {
  if (!(err instanceof ChatRpcError)) return err instanceof Error ? err : new Error(String(err))
  return err.code === 'unavailable' ? new Unavailable('message-writer is unavailable, try again') : httpError(err.code, err.message)
}

/** How long a group change waits for the writer to catch up with the group's last change. */
const GROUP_STORED_WAIT_MS = 3_000
/** Changes of one group racing this one: it is checked again this many times at most. */
const GROUP_CHANGE_ATTEMPTS = 5

const isConversationEvent = Compile(ConversationEvent)

/** The event a group operation publishes (not yet checked). */
function groupEvent (actorId: string, op: GroupFrame): ConversationEvent {
  const base = { id: randomUUID(), actorId, at: new Date().toISOString() }
  switch (op.op) {
    case 'create': {
      const others = [...new Set(op.members)].filter((u) => u !== actorId)
      return { ...base, conversationId: randomUUID(), type: 'created', title: op.title, members: [{ userId: actorId, role: 'owner' }, ...others.map((userId) => ({ userId, role: 'member' as const }))] }
    }
    case 'add': return { ...base, conversationId: op.conversationId, type: 'member_added', userId: op.userId }
    case 'remove': return op.userId === actorId
      ? { ...base, conversationId: op.conversationId, type: 'member_left' }
      : { ...base, conversationId: op.conversationId, type: 'member_removed', userId: op.userId }
    case 'leave': return { ...base, conversationId: op.conversationId, type: 'member_left' }
    case 'rename': return { ...base, conversationId: op.conversationId, type: 'renamed', title: op.title }
    case 'role': return { ...base, conversationId: op.conversationId, type: 'role_changed', userId: op.userId, role: op.role }
  }
}

/**
 * The members of a direct conversation id, or undefined for a group. Only
 * the canonical id (directConversationId: sorted) names one: another order
 * would be stored nowhere (the writer refuses it) after being acked.
 */
function directPair (conversationId: string): [string, string] | undefined {
  const pair = directMembers(conversationId)
  if (pair !== undefined && directConversationId(pair[0], pair[1]) !== conversationId) {
    throw new BadRequest('not the canonical id of a direct conversation (its two user ids sorted)')
  }
  return pair
}

function bodyTooLarge (body: unknown): boolean {
  return Buffer.byteLength(JSON.stringify(body)) > MAX_BODY_BYTES
}

/** REST bodies: deep nesting is refused before anything walks it recursively. */
export function checkBody (body: unknown): void {
  if (nestedDeeperThan(body, MAX_BODY_DEPTH)) throw new BadRequest(`body nests deeper than ${MAX_BODY_DEPTH} levels`)
  if (bodyTooLarge(body)) throw new TooLarge(`body is over ${MAX_BODY_BYTES} bytes`)
}

/**
 * The chat operations, the same for WebSocket frames and REST routes. Beyond
 * the token, everything comes over NATS: the CHAT stream and message-writer.
 */
export class ChatService {
  readonly #deps: ChatServiceDeps
  readonly #subjects: ReturnType<typeof chatSubjects>
  /** Users the writer said exist: sending to them needs no request (forgotten when deleted). */
  readonly #users = new TtlSet(10 * 60_000, 100_000)
  /** Direct conversations already announced to their members' gateways. */
  readonly #announced = new TtlSet(60 * 60_000, 100_000)
  /** users.get requests under way, by user id. */
  readonly #asking = new Map<string, Promise<boolean>>()

  constructor (deps: ChatServiceDeps) {
    this.#deps = deps
    this.#subjects = chatSubjects(deps.ns)
  }

  forgetUser (userId: string): void {
    this.#users.delete(userId)
  }

  /**
   * Publishes to CHAT with the message id as Nats-Msg-Id and resolves with
   * the ack once the stream stored it. A repeated id (within the stream's
   * duplicate window) yields the original's ack, from this or any gateway.
   */
  async send (senderId: string, req: SendRequest, options: SendOptions = {}): Promise<Ack> {
    // Frames were checked when read; REST bodies are checked here.
    if (options.bodyChecked !== true) checkBody(req.body)
    let conversationId = req.conversationId ?? ''
    let direct: [string, string] | undefined
    if (req.to !== undefined) {
      // Addressed to a user, the pair is known: no id to parse and check again.
      direct = directPairOf(senderId, req.to)
      conversationId = directConversationId(...direct)
    } else {
      direct = directPair(conversationId)
    }
    let other: string | undefined
    if (direct !== undefined) {
      if (!direct.includes(senderId)) throw new Forbidden('not a member of this conversation')
      if (direct[0] === direct[1]) throw new BadRequest('a direct conversation needs two users')
      other = direct[0] === senderId ? direct[1] : direct[0]
      await this.#ensureUser(other)
      await this.#notBlockedBy(other, senderId)
    } else {
      await this.#checkGroupMember(senderId, conversationId)
    }

    const message: StreamMessage = { id: req.id, conversationId, senderId, sentAt: new Date().toISOString(), body: req.body }
    if (direct !== undefined && !this.#announced.has(conversationId)) {
      // Before publishing: a member's gateway that does not follow this
      // conversation yet gets the notice ahead of the message (one connection,
      // in order) and holds that member's live feed from then, so the first
      // message reaches their sockets in seq order with their other
      // conversations. Told after the ack, a socket could get later seqs
      // first, and a client that then disconnected would sync past it.
      this.#announced.add(conversationId)
      const conversation: Conversation = { id: conversationId, kind: 'direct', members: [...direct], createdAt: message.sentAt, lastSeq: 0 }
      this.#deps.hub.announce([senderId, other as string], conversation)
    }
    options.beforePublish?.(req.id)
    let ack
    try {
      ack = await this.#deps.publisher.publish(this.#subjects.message(conversationId), JSON.stringify(message), req.id)
    } catch (err) {
      options.notComing?.(req.id)
      this.#deps.log.warn({ err, conversationId }, 'publishing a message failed')
      throw new Unavailable('the message could not be stored, send it again with the same id')
    }
    let sentAt = message.sentAt
    if (ack.duplicate) {
      options.notComing?.(req.id)
      const stored = await this.#deps.jsm.streams.getMessage(this.#deps.stream, { seq: ack.seq })
      const original = stored?.json<StreamMessage>()
      if (original === undefined || original.id !== req.id || original.conversationId !== conversationId || original.senderId !== senderId) {
        throw new BadRequest('this message id was already used for another message')
      }
      sentAt = original.sentAt
    }
    return { id: req.id, conversationId, seq: ack.seq, sentAt }
  }

  /**
   * A group change, compare-and-set on the group's last event: the writer
   * checks it (groups.authorize) against the group as of its last event in
   * CHAT, then it is published to `<ns>.chat.conv.<id>` expecting that event
   * to be the subject's last still (Nats-Expected-Last-Subject-Sequence). Two
   * changes checked against the same state cannot both be stored: the later
   * publish is refused, and that change is checked again against the new
   * state (an admin removed meanwhile can no longer add anyone). So every
   * stored event is one the writer applies, and what gateways announce from
   * the live feed is what the writer stores. A new event id is the
   * Nats-Msg-Id: a retried publish is stored once. Users who join are told
   * on `<ns>.user.<id>`; members see the event on the conversation's live feed.
   */
  async group (actorId: string, op: GroupFrame): Promise<{ conversation: Conversation, seq: number, change: ConversationChange }> {
    const event = groupEvent(actorId, op)
    const subject = this.#subjects.conversationEvent(event.conversationId)
    for (let attempt = 1; ; attempt++) {
      const last = event.type === 'created' ? 0 : (await this.#lastGroupEvent(event.conversationId))?.seq ?? 0
      if (last > 0) await this.#storedThrough(last)
      const { conversation } = await this.#deps.writer.call('groups.authorize', { event }).catch((err: unknown) => { throw fromWriter(err) })
      const stored: ConversationEvent = { ...event, conversation }
      let seq: number
      try {
        const ack = await this.#deps.js.publish(subject, JSON.stringify(stored), { msgID: event.id, expect: { streamName: this.#deps.stream, lastSubjectSequence: last } })
        seq = ack.seq
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
          if (attempt < GROUP_CHANGE_ATTEMPTS) continue
          throw new Unavailable('the group is changing too often, try again')
        }
        this.#deps.log.warn({ err, conversationId: event.conversationId }, 'publishing a group event failed')
        throw new Unavailable('the change could not be stored, try again')
      }
      const change: ConversationChange = { type: event.type, seq, actorId, ...('userId' in event ? { userId: event.userId } : {}) }
      if (event.type === 'created') this.#deps.hub.announce(event.members.map((m) => m.userId), conversation, { joinedSeq: seq, change })
      if (event.type === 'member_added') this.#deps.hub.announce([event.userId], conversation, { joinedSeq: seq, change })
      return { conversation, seq, change }
    }
  }

  async history (userId: string, conversationId: string, before: number | undefined, limit: number | undefined): Promise<{ items: Message[], hasMore: boolean }> {
    this.#checkDirect(userId, conversationId)
    const request = { conversationId, userId, limit: limit ?? HISTORY_DEFAULT_LIMIT, ...(before === undefined ? {} : { before }) }
    return await this.#deps.writer.call('messages.history', request).catch((err: unknown) => { throw fromWriter(err) })
  }

  /** One page of the user's conversations, newest activity first (conversations.list). */
  async conversations (userId: string, page: { after?: string, limit?: number } = {}): Promise<{ items: Conversation[], nextCursor?: string }> {
    const request = { userId, ...(page.after === undefined ? {} : { after: page.after }), ...(page.limit === undefined ? {} : { limit: page.limit }) }
    return await this.#deps.writer.call('conversations.list', request).catch((err: unknown) => { throw fromWriter(err) })
  }

  /** Relays a receipt to the other members; a `read` one is stored first. */
  async receipt (userId: string, conversationId: string, seq: number, kind: ReceiptKind): Promise<void> {
    await this.#checkMember(userId, conversationId)
    if (kind === 'read') {
      await this.#deps.writer.call('receipts.read', { conversationId, userId, seq }).catch((err: unknown) => { throw fromWriter(err) })
    }
    this.#deps.hub.signal(conversationId, { type: 'receipt', conversationId, userId, seq, kind })
  }

  async typing (userId: string, conversationId: string): Promise<void> {
    await this.#checkMember(userId, conversationId)
    const direct = directPair(conversationId)
    if (direct !== undefined) await this.#notBlockedBy(direct[0] === userId ? direct[1] : direct[0], userId)
    this.#deps.hub.signal(conversationId, { type: 'typing', conversationId, userId })
  }

  #checkDirect (userId: string, conversationId: string): void {
    const direct = directPair(conversationId)
    if (direct !== undefined && !direct.includes(userId)) throw new Forbidden('not a member of this conversation')
  }

  async #checkMember (userId: string, conversationId: string): Promise<void> {
    this.#checkDirect(userId, conversationId)
    if (directMembers(conversationId) === undefined) await this.#checkGroupMember(userId, conversationId)
  }

  /**
   * Whether `userId` is a member of the group now. The live feed keeps what
   * this gateway knows of its connected members current (a removal it saw
   * counts even before the writer stores it). Otherwise the group's last
   * event in CHAT says who its members are (every change carries the group
   * after it, and changes are compare-and-set, so the last one is the
   * truth); past the stream's retention, the writer.
   */
  async #checkGroupMember (userId: string, conversationId: string): Promise<void> {
    const hub = this.#deps.hub
    if (hub.hasLeft(userId, conversationId)) throw new Forbidden('not a member of this conversation')
    if (hub.knowsMember(userId, conversationId)) return
    const last = await this.#lastGroupEvent(conversationId)
    if (last?.conversation !== undefined) {
      if (!last.conversation.members.includes(userId)) throw new Forbidden('not a member of this conversation')
      return
    }
    await this.#deps.writer.call('conversations.get', { conversationId, userId }).catch((err: unknown) => { throw fromWriter(err) })
  }

  /** The group's last change stored in CHAT, with its seq; undefined when the stream has none (no group, or aged out). */
  async #lastGroupEvent (conversationId: string): Promise<(ConversationEvent & { seq: number }) | undefined> {
    let stored
    try {
      stored = await this.#deps.jsm.streams.getMessage(this.#deps.stream, { last_by_subj: this.#subjects.conversationEvent(conversationId) })
    } catch (err) {
      this.#deps.log.warn({ err, conversationId }, 'cannot read a group\'s last change')
      throw new Unavailable('cannot check the group now, try again')
    }
    if (stored === null) return undefined
    let event: unknown
    try {
      event = stored.json()
    } catch {
      event = undefined
    }
    // Only gateways publish there (NATS permissions); a malformed one is a fault, not a member list.
    if (!isConversationEvent.Check(event)) throw new Unavailable('the group\'s last change is unreadable')
    return { ...event, seq: stored.seq }
  }

  /**
   * Waits (briefly) until the writer has stored CHAT up to `seq` (a group's
   * last change), so that it checks a change against the group as it is.
   * Checking against an older state could authorize what the newer one
   * forbids: past the wait, the change is refused as unavailable instead.
   */
  async #storedThrough (seq: number): Promise<void> {
    for (let waited = 0; ; waited += 20) {
      const { storedThrough } = await this.#deps.writer.call('writer.position', {}).catch((err: unknown) => { throw fromWriter(err) })
      if (storedThrough >= seq) return
      if (waited >= GROUP_STORED_WAIT_MS) throw new Unavailable('message-writer is behind, try again')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** A direct message or typing to a user who blocked the sender is refused. */
  async #notBlockedBy (recipientId: string, senderId: string): Promise<void> {
    let blocked: boolean
    try {
      blocked = await this.#deps.blocks.blocks(recipientId, senderId)
    } catch (err) {
      throw fromWriter(err)
    }
    if (blocked) throw new Forbidden('this user does not accept your messages')
  }

  /** Blocks or unblocks `otherId` for `userId` (blocks.set), then tells every gateway. */
  async setBlocked (userId: string, otherId: string, blocked: boolean): Promise<void> {
    await this.#deps.writer.call('blocks.set', { userId, otherId, blocked }).catch((err: unknown) => { throw fromWriter(err) })
    this.#deps.blocks.changed(userId)
  }

  async blocksOf (userId: string): Promise<Array<{ userId: string, since: string }>> {
    const { items } = await this.#deps.writer.call('blocks.list', { userId }).catch((err: unknown) => { throw fromWriter(err) })
    return items
  }

  async #ensureUser (userId: string): Promise<void> {
    if (this.#users.has(userId)) return
    // Messages to the same unknown user at once share one request.
    let asking = this.#asking.get(userId)
    if (asking === undefined) {
      asking = this.#deps.writer.call('users.get', { userId })
        .then(({ user }) => user !== null, (err: unknown) => { throw fromWriter(err) })
        .finally(() => { this.#asking.delete(userId) })
      this.#asking.set(userId, asking)
    }
    if (!await asking) throw new NotFound('no such user')
    this.#users.add(userId)
  }
}
