import { randomUUID } from 'node:crypto'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import type { Namespace } from '@metadome/nats'
import {
  chatSubjects, directConversationId, directMembers, ChatRpcError, MAX_BODY_BYTES, HISTORY_DEFAULT_LIMIT,
  type Ack, type ChatRpcClient, type Conversation, type ConversationChange, type ConversationEvent, type GroupFrame, type Message, type ReceiptKind, type StreamMessage
} from '@metadome/contracts'
import { BadRequest, Forbidden, NotFound, TooLarge, Unavailable } from '@metadome/service'
import type { Hub } from './hub.js'
import { TtlSet } from './ttl-set.js'
import type { StreamPublisher } from './stream-publisher.js'

export interface ChatServiceDeps {
  publisher: StreamPublisher
  jsm: JetStreamManager
  ns: Namespace
  writer: ChatRpcClient
  hub: Hub
  log: FastifyBaseLogger
  stream: string
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

/** The error a caller (frame or route) reports: the writer's code, or ours. */
function fromWriter (err: unknown): Error {
  if (!(err instanceof ChatRpcError)) return err instanceof Error ? err : new Error(String(err))
  switch (err.code) {
    case 'forbidden': return new Forbidden(err.message)
    case 'not_found': return new NotFound(err.message)
    case 'bad_request': return new BadRequest(err.message)
    case 'too_large': return new TooLarge(err.message)
    default: return new Unavailable('message-writer is unavailable, try again')
  }
}

/** How long a group check waits for the writer to catch up with the group's changes before checking anyway. */
const GROUP_STORED_WAIT_MS = 3_000

export function bodyTooLarge (body: unknown): boolean {
  return Buffer.byteLength(JSON.stringify(body)) > MAX_BODY_BYTES
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
    if (options.bodyChecked !== true && bodyTooLarge(req.body)) throw new TooLarge(`body is over ${MAX_BODY_BYTES} bytes`)
    const conversationId = req.to !== undefined ? directConversationId(senderId, req.to) : (req.conversationId ?? '')
    const direct = directMembers(conversationId)
    let other: string | undefined
    if (direct !== undefined) {
      if (!direct.includes(senderId)) throw new Forbidden('not a member of this conversation')
      if (direct[0] === direct[1]) throw new BadRequest('a direct conversation needs two users')
      other = direct[0] === senderId ? direct[1] : direct[0]
      await this.#ensureUser(other)
    } else {
      // A group: the writer knows its members; this gateway may know of a removal it has not stored yet.
      if (this.#deps.hub.hasLeft(senderId, conversationId)) throw new Forbidden('not a member of this conversation')
      // The live feed keeps what this gateway knows of its connected members
      // current; otherwise ask the writer once it has stored the group's changes.
      if (!this.#deps.hub.knowsMember(senderId, conversationId)) {
        await this.#groupStored(conversationId)
        await this.#deps.writer.call('conversations.get', { conversationId, userId: senderId }).catch((err: unknown) => { throw fromWriter(err) })
      }
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
   * A group change: checked by the writer (groups.authorize), then published
   * to CHAT on `<ns>.chat.conv.<id>` with a new event id as Nats-Msg-Id (the
   * publisher's retries are stored once), so it is ordered with the
   * messages. Users who join are told on `<ns>.user.<id>`; members see the
   * event on the live feed of the conversation.
   */
  async group (actorId: string, op: GroupFrame): Promise<{ conversation: Conversation, seq: number, change: ConversationChange }> {
    const base = { id: randomUUID(), actorId, at: new Date().toISOString() }
    let event: ConversationEvent
    switch (op.op) {
      case 'create': {
        const others = [...new Set(op.members)].filter((u) => u !== actorId)
        event = { ...base, conversationId: randomUUID(), type: 'created', title: op.title, members: [{ userId: actorId, role: 'owner' }, ...others.map((userId) => ({ userId, role: 'member' as const }))] }
        break
      }
      case 'add': event = { ...base, conversationId: op.conversationId, type: 'member_added', userId: op.userId }; break
      case 'remove': event = op.userId === actorId
        ? { ...base, conversationId: op.conversationId, type: 'member_left' }
        : { ...base, conversationId: op.conversationId, type: 'member_removed', userId: op.userId }
        break
      case 'leave': event = { ...base, conversationId: op.conversationId, type: 'member_left' }; break
      case 'rename': event = { ...base, conversationId: op.conversationId, type: 'renamed', title: op.title }; break
      case 'role': event = { ...base, conversationId: op.conversationId, type: 'role_changed', userId: op.userId, role: op.role }; break
    }
    if (event.type !== 'created') await this.#groupStored(event.conversationId)
    const { conversation } = await this.#deps.writer.call('groups.authorize', { event }).catch((err: unknown) => { throw fromWriter(err) })
    const stored: ConversationEvent = { ...event, conversation }
    let ack
    try {
      ack = await this.#deps.publisher.publish(this.#subjects.conversationEvent(event.conversationId), JSON.stringify(stored), event.id)
    } catch (err) {
      this.#deps.log.warn({ err, conversationId: event.conversationId }, 'publishing a group event failed')
      throw new Unavailable('the change could not be stored, try again')
    }
    const change: ConversationChange = { type: event.type, seq: ack.seq, actorId, ...('userId' in event ? { userId: event.userId } : {}) }
    if (event.type === 'created') this.#deps.hub.announce(event.members.map((m) => m.userId), conversation, { joinedSeq: ack.seq, change })
    if (event.type === 'member_added') this.#deps.hub.announce([event.userId], conversation, { joinedSeq: ack.seq, change })
    return { conversation, seq: ack.seq, change }
  }

  async history (userId: string, conversationId: string, before: number | undefined, limit: number | undefined): Promise<{ items: Message[], hasMore: boolean }> {
    this.#checkDirect(userId, conversationId)
    const request = { conversationId, userId, limit: limit ?? HISTORY_DEFAULT_LIMIT, ...(before === undefined ? {} : { before }) }
    return await this.#deps.writer.call('messages.history', request).catch((err: unknown) => { throw fromWriter(err) })
  }

  async conversations (userId: string): Promise<Conversation[]> {
    const { items } = await this.#deps.writer.call('conversations.list', { userId }).catch((err: unknown) => { throw fromWriter(err) })
    return items
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
    this.#deps.hub.signal(conversationId, { type: 'typing', conversationId, userId })
  }

  #checkDirect (userId: string, conversationId: string): void {
    const direct = directMembers(conversationId)
    if (direct !== undefined && !direct.includes(userId)) throw new Forbidden('not a member of this conversation')
  }

  async #checkMember (userId: string, conversationId: string): Promise<void> {
    this.#checkDirect(userId, conversationId)
    if (this.#deps.hub.hasLeft(userId, conversationId)) throw new Forbidden('not a member of this conversation')
    if (directMembers(conversationId) !== undefined || this.#deps.hub.knowsMember(userId, conversationId)) return
    await this.#deps.writer.call('conversations.get', { conversationId, userId }).catch((err: unknown) => { throw fromWriter(err) })
  }

  /**
   * Waits (briefly) until the writer has stored the group's latest change, so
   * a check right after a change (an admin just promoted, a member just
   * added) is made against it rather than refused from a stale state.
   */
  async #groupStored (conversationId: string): Promise<void> {
    let seq: number
    try {
      const last = await this.#deps.jsm.streams.getMessage(this.#deps.stream, { last_by_subj: this.#subjects.conversationEvent(conversationId) })
      seq = last?.seq ?? 0
    } catch {
      // No such subject in the stream (no group): the writer says not_found.
      return
    }
    for (let waited = 0; seq > 0 && waited < GROUP_STORED_WAIT_MS; waited += 20) {
      const { storedThrough } = await this.#deps.writer.call('writer.position', {}).catch((err: unknown) => { throw fromWriter(err) })
      if (storedThrough >= seq) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
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
