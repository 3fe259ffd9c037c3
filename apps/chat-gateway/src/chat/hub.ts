import type { NatsConnection, Subscription, Msg } from '@nats-io/transport-node'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import type { Namespace } from '@metadome/nats'
import { Compile } from 'typebox/compile'
import { chatSubjects, directMembers, ChatRpcError, ConversationEvent, SINCE_MAX_LIMIT, type ChatRpcClient, type Conversation, type ConversationChange, type ConversationFrame, type Ref, type ReceiptEventFrame, type TypingEventFrame } from '@metadome/contracts'
import type { Connection, CatchUpContext } from '../ws/connection.js'
import { itemFromMessage, messageFrame, type LiveItem } from './live-item.js'
import { readStream, type StreamEntry } from './stream-reader.js'
import { Semaphore } from './semaphore.js'

export interface HubDeps {
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  ns: Namespace
  writer: ChatRpcClient
  log: FastifyBaseLogger
  /** The CHAT stream's name. */
  stream: string
}

/** Published on chatSubjects(ns).user(userId) when that user is in a conversation their gateways may not know yet. */
export interface JoinedNotice {
  type: 'joined'
  conversation: Conversation
  /** Groups: the seq of the event that added the user; they get messages after it only. */
  joinedSeq?: number
  change?: ConversationChange
}

interface UserEntry {
  sockets: Set<Connection>
  conversations: Set<string>
  ready: Promise<void>
  /** `ready` has resolved: a join can act at once, in the callback that brought its notice. */
  loaded: boolean
  /** Groups joined while connected: the seq that added the user (nothing at or below it is theirs). */
  floors: Map<string, number>
  /** Groups the user was removed from while connected, by the removal's seq. */
  left: Map<string, number>
}

interface ConversationEntry {
  /** Local users who are members; the subscriptions end with the last one. */
  users: Set<string>
  messages: Subscription
  signals: Subscription
}

const isConversationEvent = Compile(ConversationEvent)

/** Writer pages that a catch-up asks for at once. */
const SINCE_PAGE = Math.min(500, SINCE_MAX_LIMIT)

/**
 * The sockets this gateway holds, by user, and the NATS subscriptions that
 * feed them.
 *
 * Fan-out is by conversation: for every conversation with a member connected
 * here, one core subscription to `<ns>.live.msg.<conversationId>` (where the
 * CHAT stream re-publishes each stored message once, with its seq) and one to
 * `<ns>.signal.<conversationId>` (typing, receipts), reference-counted over
 * local users. A message is parsed never and serialized once per gateway,
 * then written to every socket of every member. Never a queue group: every
 * gateway with a member must get every message.
 *
 * A conversation a connected user joins later (the first direct message from
 * someone new) is announced on `<ns>.user.<userId>` (followed here with one
 * wildcard subscription); the gateway subscribes, then catches each of that
 * user's sockets up from the stream, holding the live feed back meanwhile
 * (see Connection).
 */
export class Hub {
  readonly #deps: HubDeps
  readonly #subjects: ReturnType<typeof chatSubjects>
  readonly #users = new Map<string, UserEntry>()
  readonly #conversations = new Map<string, ConversationEntry>()
  readonly #messagePrefix: string
  readonly #liveConvPrefix: string
  readonly #control: Subscription
  /**
   * Catch-ups that read the writer and the stream at once, gateway-wide:
   * after a NATS reconnect every socket catches up, and ten thousand
   * ephemeral consumers at once would hurt the NATS servers more than the
   * wait hurts the sockets (their live feed is held meanwhile, bounded).
   */
  readonly #catchUps = new Semaphore(32)

  constructor (deps: HubDeps) {
    this.#deps = deps
    this.#subjects = chatSubjects(deps.ns)
    this.#messagePrefix = this.#subjects.message('')
    this.#liveConvPrefix = this.#subjects.liveConversationEvent('')
    // One subscription for every user's control subject rather than one per
    // connected user: notices are rare (a first message between two users),
    // and it is in place before any user loads, so none falls in between.
    const userPrefix = this.#subjects.user('')
    this.#control = deps.nc.subscribe(this.#subjects.user('*'), {
      callback: (err, msg) => {
        if (err !== null) return
        const userId = msg.subject.slice(userPrefix.length)
        if (this.#users.has(userId)) this.#onControl(userId, msg)
      }
    })
  }

  /** Stops following control subjects (the NATS connection drains the rest). */
  close (): void {
    this.#control.unsubscribe()
  }

  get socketCount (): number {
    let n = 0
    for (const entry of this.#users.values()) n += entry.sockets.size
    return n
  }

  get subscribedConversations (): number {
    return this.#conversations.size
  }

  * connections (): Iterable<Connection> {
    for (const entry of this.#users.values()) yield * entry.sockets
  }

  socketsOf (userId: string): Iterable<Connection> {
    return this.#users.get(userId)?.sockets ?? []
  }

  /** Whether this gateway saw `userId` removed from `conversationId` (while connected; the writer may not have stored it yet). */
  hasLeft (userId: string, conversationId: string): boolean {
    return this.#users.get(userId)?.left.has(conversationId) ?? false
  }

  /** Whether `userId` is known here to be a member of `conversationId` (only meaningful while they are connected). */
  knowsMember (userId: string, conversationId: string): boolean {
    return this.#users.get(userId)?.conversations.has(conversationId) ?? false
  }

  /**
   * Adds an authenticated socket: its user's conversations are subscribed
   * first; then `onReady` runs (it sends `ready`) and live delivery starts
   * from the stream's current end.
   */
  async attach (conn: Connection, onReady: () => void): Promise<void> {
    const userId = conn.userId as string
    let entry = this.#users.get(userId)
    if (entry === undefined) {
      const created: UserEntry = { sockets: new Set(), conversations: new Set(), ready: Promise.resolve(), loaded: false, floors: new Map(), left: new Map() }
      created.ready = this.#load(userId, created).then(() => { created.loaded = true })
      this.#users.set(userId, created)
      entry = created
    }
    try {
      await entry.ready
    } catch (err) {
      if (entry.sockets.size === 0 && this.#users.get(userId) === entry) this.#drop(userId, entry)
      throw err
    }
    if (conn.closed) {
      if (entry.sockets.size === 0 && this.#users.get(userId) === entry) this.#drop(userId, entry)
      return
    }
    entry.sockets.add(conn)
    // Everything stored before this point is for `sync`; everything after is live.
    let failure: unknown
    await conn.catchUp(async (ctx) => {
      try {
        const last = await this.lastSeq()
        conn.coveredFrom = last
        conn.cursor = last
        ctx.cover(undefined, last)
        onReady()
      } catch (err) {
        failure = err
      }
    })
    if (failure !== undefined) throw failure
  }

  detach (conn: Connection): void {
    const userId = conn.userId
    if (userId === undefined) return
    const entry = this.#users.get(userId)
    if (entry === undefined || !entry.sockets.delete(conn)) return
    if (entry.sockets.size === 0) this.#drop(userId, entry)
  }

  /** Closes every local socket of a user that `which` selects. */
  closeUser (userId: string, code: number, reason: string, which: (conn: Connection) => boolean = () => true): number {
    let n = 0
    for (const conn of [...this.socketsOf(userId)]) {
      if (!which(conn)) continue
      conn.close(code, reason)
      n++
    }
    return n
  }

  async lastSeq (): Promise<number> {
    const info = await this.#deps.jsm.streams.info(this.#deps.stream)
    return info.state.last_seq
  }

  /**
   * `sync`: every message after `after` in the user's conversations, once, in
   * seq order: from the writer up to what it has stored, then from the
   * stream up to its end at the start (from `after` if the writer does not
   * answer). Conversations found on the way are joined.
   */
  sync (conn: Connection, after: number, reply: { ref?: Ref } | undefined): Promise<void> {
    return conn.catchUp(async (ctx) => {
      try {
        await this.#catchUps.run(async () => { await this.#sync(conn, after, reply, ctx) })
      } catch (err) {
        // Nothing is covered: what was held back is all written, so a failed
        // catch-up loses nothing live; the client syncs again.
        this.#deps.log.warn({ err, connectionId: conn.id }, 'catch-up failed')
        if (reply !== undefined) conn.sendError('unavailable', 'cannot catch up now, sync again', reply.ref)
      }
    })
  }

  async #sync (conn: Connection, after: number, reply: { ref?: Ref } | undefined, ctx: CatchUpContext): Promise<void> {
    const userId = conn.userId as string
    const entry = this.#users.get(userId)
    if (entry === undefined) return
    const last = await this.lastSeq()
    // Messages this socket got live before the sync: not again.
    const known = new Set(entry.conversations)
    const lo = conn.coveredFrom
    const hi = conn.cursor
    const discovered = new Set<string>()
    const write = (item: LiveItem): void => {
      if (known.has(item.conversationId) && item.seq > lo && item.seq <= hi) return
      // Only a direct conversation joins by being found: its members are in
      // its id. A group found here is one the user was a member of when the
      // message was sent (the writer answers within membership windows); its
      // history is theirs, its future is not unless a join notice says so.
      if (!entry.conversations.has(item.conversationId) && isDirectMember(item.conversationId, userId)) discovered.add(item.conversationId)
      ctx.write(item)
    }

    // Up to where everything is written; the stream tail follows from there.
    const progress = { through: after }
    try {
      await this.#fromWriter(userId, last, write, ctx, progress)
    } catch (err) {
      if (!(err instanceof ChatRpcError && err.code === 'unavailable')) throw err
      this.#deps.log.warn({ err }, 'message-writer unavailable: catching up from the stream')
    }
    let n = 0
    for await (const e of readStream(this.#deps.js, this.#deps.jsm, this.#deps.stream, { filter: this.#subjects.message('>'), from: progress.through + 1, to: last })) {
      if (conn.closed) return
      const conversationId = this.#conversationOf(e.subject)
      if (!entry.conversations.has(conversationId) && !isDirectMember(conversationId, userId)) continue
      if (e.seq <= (entry.floors.get(conversationId) ?? 0)) continue
      const item = this.#itemOf(e, conversationId)
      if (item !== undefined) write(item)
      if (++n % 64 === 0) await ctx.drained()
    }
    ctx.cover(undefined, last)
    conn.coveredFrom = Math.min(conn.coveredFrom, after)
    if (reply !== undefined) {
      const cursor = Math.max(last, conn.cursor)
      conn.send(reply.ref === undefined ? { type: 'synced', cursor } : { type: 'synced', cursor, ref: reply.ref })
    }
    for (const conversationId of discovered) void this.#joinNow(userId, entry, conversationId)
  }

  /** Catches every socket up from its cursor: after a NATS reconnect, live messages may have been missed. */
  resumeAll (): void {
    for (const conn of this.connections()) void this.sync(conn, conn.cursor, undefined)
  }

  /** Pages messages.since up to `last`, advancing `progress.through` as it writes. */
  async #fromWriter (userId: string, last: number, write: (item: LiveItem) => void, ctx: CatchUpContext, progress: { through: number }): Promise<void> {
    for (;;) {
      const page = await this.#deps.writer.call('messages.since', { userId, after: progress.through, limit: SINCE_PAGE })
      for (const message of page.items) {
        if (message.seq > last) {
          progress.through = last
          return
        }
        write(itemFromMessage(message))
        progress.through = message.seq
      }
      await ctx.drained()
      if (!page.hasMore) {
        progress.through = Math.min(Math.max(progress.through, page.storedThrough), last)
        return
      }
    }
  }

  /**
   * A local user is (now) a member of `conversationId`: subscribe, and catch
   * each of their sockets up on it from where its live feed started.
   */
  async join (userId: string, conversationId: string, conversation?: Conversation, joinedSeq?: number, change?: ConversationChange): Promise<void> {
    const entry = this.#users.get(userId)
    if (entry === undefined) return
    // Loaded: no await before the catch-ups are queued, so live messages that
    // follow the notice in the same NATS read are held back already.
    if (!entry.loaded) {
      try {
        await entry.ready
      } catch {
        return
      }
      if (this.#users.get(userId) !== entry) return
    }
    if (joinedSeq !== undefined) {
      entry.left.delete(conversationId)
      entry.floors.set(conversationId, joinedSeq)
    }
    if (conversation !== undefined) {
      const frame: ConversationFrame = change === undefined ? { type: 'conversation', conversation } : { type: 'conversation', conversation, change }
      for (const conn of entry.sockets) conn.send(frame)
    }
    await this.#joinNow(userId, entry, conversationId)
  }

  /**
   * Synchronous up to the queuing of each socket's catch-up, so that a sync
   * that finds a conversation queues its catch-up before it ends (and the
   * live messages of that conversation stay held back in between).
   */
  #joinNow (userId: string, entry: UserEntry, conversationId: string): Promise<void> {
    // A user who left meanwhile must not leave a subscription behind.
    if (this.#users.get(userId) !== entry || entry.conversations.has(conversationId)) return Promise.resolve()
    entry.conversations.add(conversationId)
    const subscribed = this.#subscribe(userId, conversationId).then(async () => { await this.#deps.nc.flush() })
    subscribed.catch(() => {})
    for (const conn of entry.sockets) {
      void conn.catchUp(async (ctx) => {
        await subscribed
        await this.#catchUps.run(async () => { await this.#catchUpOn(conn, conversationId, ctx) })
      })
    }
    return subscribed
  }

  /** One socket's catch-up on one conversation, from where its live feed started (or an earlier catch-up stopped). */
  async #catchUpOn (conn: Connection, conversationId: string, ctx: CatchUpContext): Promise<void> {
    const last = await this.lastSeq()
    const floor = this.#users.get(conn.userId as string)?.floors.get(conversationId) ?? 0
    const from = Math.max(conn.coveredFrom, ctx.coveredUpTo(conversationId), floor) + 1
    let n = 0
    for await (const e of readStream(this.#deps.js, this.#deps.jsm, this.#deps.stream, { filter: this.#subjects.message(conversationId), from, to: last })) {
      if (conn.closed) return
      const item = this.#itemOf(e, conversationId)
      if (item !== undefined) ctx.write(item)
      if (++n % 64 === 0) await ctx.drained()
    }
    ctx.cover(conversationId, last)
  }

  /** Relays a receipt or typing frame to the other members' sockets, on every gateway. */
  signal (conversationId: string, frame: ReceiptEventFrame | TypingEventFrame): void {
    this.#deps.nc.publish(this.#subjects.signal(conversationId), JSON.stringify(frame))
  }

  /** Tells every gateway holding these users that they are in `conversation`. */
  announce (userIds: string[], conversation: Conversation, group?: { joinedSeq: number, change: ConversationChange }): void {
    const notice: JoinedNotice = { type: 'joined', conversation, ...group }
    const data = JSON.stringify(notice)
    for (const userId of new Set(userIds)) this.#deps.nc.publish(this.#subjects.user(userId), data)
  }

  async #load (userId: string, entry: UserEntry): Promise<void> {
    // The writer knows the conversations it stored (through storedThrough,
    // read first); direct conversations in the stream above that are found
    // by scanning subjects only. Without a writer, the whole stream.
    let from = 1
    try {
      const { storedThrough } = await this.#deps.writer.call('writer.position', {})
      const { items } = await this.#deps.writer.call('conversations.list', { userId })
      for (const c of items) {
        entry.conversations.add(c.id)
        // Nothing of a group from before the user joined, even from the stream while the writer is down.
        if (c.joinedSeq !== undefined) entry.floors.set(c.id, c.joinedSeq)
      }
      from = storedThrough + 1
    } catch (err) {
      if (!(err instanceof ChatRpcError && err.code === 'unavailable')) throw err
      this.#deps.log.warn({ err }, 'message-writer unavailable: finding conversations in the stream')
    }
    const last = await this.lastSeq()
    for await (const e of readStream(this.#deps.js, this.#deps.jsm, this.#deps.stream, { filter: this.#subjects.message('>'), from, to: last, headersOnly: true })) {
      const conversationId = this.#conversationOf(e.subject)
      if (isDirectMember(conversationId, userId)) entry.conversations.add(conversationId)
    }
    // Group changes the writer has not stored yet: their snapshots say who is a member now.
    for await (const e of readStream(this.#deps.js, this.#deps.jsm, this.#deps.stream, { filter: this.#subjects.conversationEvent('>'), from, to: last })) {
      let event: unknown
      try {
        event = JSON.parse(e.data)
      } catch {
        continue
      }
      if (!isConversationEvent.Check(event)) continue
      const members = event.conversation?.members
      if (members === undefined) continue
      if (!members.includes(userId)) {
        entry.conversations.delete(event.conversationId)
        entry.floors.delete(event.conversationId)
      } else if (!entry.conversations.has(event.conversationId) || joins(event, userId)) {
        // Joined by this event: the user gets messages after it only.
        entry.conversations.add(event.conversationId)
        entry.floors.set(event.conversationId, e.seq)
      }
    }
    await Promise.all([...entry.conversations].map(async (c) => { await this.#subscribe(userId, c) }))
    await this.#deps.nc.flush()
  }

  #drop (userId: string, entry: UserEntry): void {
    this.#users.delete(userId)
    for (const conversationId of entry.conversations) {
      const c = this.#conversations.get(conversationId)
      if (c === undefined) continue
      c.users.delete(userId)
      if (c.users.size === 0) {
        c.messages.unsubscribe()
        c.signals.unsubscribe()
        this.#conversations.delete(conversationId)
      }
    }
  }

  async #subscribe (userId: string, conversationId: string): Promise<void> {
    const existing = this.#conversations.get(conversationId)
    if (existing !== undefined) {
      existing.users.add(userId)
      return
    }
    const entry: ConversationEntry = {
      users: new Set([userId]),
      // Messages and membership events on one subscription: in stream
      // order, so a removal is applied before any later message is written.
      messages: this.#deps.nc.subscribe(this.#subjects.liveAny(conversationId), {
        callback: (err, msg) => {
          if (err !== null) return
          if (msg.subject.startsWith(this.#liveConvPrefix)) this.#onConversationEvent(conversationId, msg)
          else this.#onLive(conversationId, msg)
        }
      }),
      signals: this.#deps.nc.subscribe(this.#subjects.signal(conversationId), {
        callback: (err, msg) => { if (err === null) this.#onSignal(conversationId, msg) }
      })
    }
    this.#conversations.set(conversationId, entry)
  }

  #onLive (conversationId: string, msg: Msg): void {
    const c = this.#conversations.get(conversationId)
    if (c === undefined) return
    const seq = Number(msg.headers?.get('Nats-Sequence'))
    const frame = Number.isSafeInteger(seq) ? messageFrame(seq, msg.string()) : undefined
    if (frame === undefined) {
      this.#deps.log.warn({ subject: msg.subject }, 'dropped a live message without seq or JSON object payload')
      return
    }
    const item: LiveItem = { seq, conversationId, id: msg.headers?.get('Nats-Msg-Id') ?? '', frame }
    for (const userId of c.users) {
      const entry = this.#users.get(userId)
      if (entry === undefined) continue
      if (seq <= (entry.floors.get(conversationId) ?? 0)) continue
      for (const conn of entry.sockets) conn.deliver(item)
    }
  }

  /**
   * A group change, live: every local member's sockets get a `conversation`
   * frame; a local user it removes gets it too, then nothing more of the
   * conversation (unsubscribed here, and refused if they send).
   */
  #onConversationEvent (conversationId: string, msg: Msg): void {
    const c = this.#conversations.get(conversationId)
    if (c === undefined) return
    const seq = Number(msg.headers?.get('Nats-Sequence'))
    let event: ConversationEvent
    try {
      event = msg.json<ConversationEvent>()
    } catch {
      return
    }
    if (!Number.isSafeInteger(seq) || typeof event.type !== 'string' || typeof event.actorId !== 'string') return
    const gone = event.type === 'member_removed' ? event.userId : event.type === 'member_left' ? event.actorId : undefined
    if (event.conversation !== undefined) {
      const change: ConversationChange = { type: event.type, seq, actorId: event.actorId, ...('userId' in event ? { userId: event.userId } : {}) }
      const text = JSON.stringify({ type: 'conversation', conversation: event.conversation, change } satisfies ConversationFrame)
      for (const userId of c.users) {
        for (const conn of this.socketsOf(userId)) conn.sendText(text)
      }
    }
    if (gone === undefined || !c.users.has(gone)) return
    const entry = this.#users.get(gone)
    c.users.delete(gone)
    if (entry !== undefined) {
      entry.conversations.delete(conversationId)
      entry.floors.delete(conversationId)
      entry.left.set(conversationId, seq)
    }
    if (c.users.size === 0) {
      c.messages.unsubscribe()
      c.signals.unsubscribe()
      this.#conversations.delete(conversationId)
    }
  }

  #onSignal (conversationId: string, msg: Msg): void {
    const c = this.#conversations.get(conversationId)
    if (c === undefined) return
    let from: unknown
    try {
      from = (msg.json<{ userId?: unknown }>()).userId
    } catch {
      return
    }
    const text = msg.string()
    for (const userId of c.users) {
      if (userId === from) continue
      for (const conn of this.socketsOf(userId)) conn.sendText(text)
    }
  }

  #onControl (userId: string, msg: Msg): void {
    let notice: JoinedNotice
    try {
      notice = msg.json<JoinedNotice>()
    } catch {
      return
    }
    if (notice.type === 'joined' && typeof notice.conversation?.id === 'string') {
      this.join(userId, notice.conversation.id, notice.conversation, notice.joinedSeq, notice.change).catch((err: unknown) => {
        this.#deps.log.error({ err, userId }, 'joining a conversation failed')
      })
    }
  }

  #conversationOf (subject: string): string {
    return subject.slice(this.#messagePrefix.length)
  }

  #itemOf (e: StreamEntry, conversationId: string): LiveItem | undefined {
    const frame = messageFrame(e.seq, e.data)
    return frame === undefined ? undefined : { seq: e.seq, conversationId, id: e.msgId, frame }
  }
}

/** Whether a group event adds `userId` (creates the group with them, or adds them). */
function joins (event: ConversationEvent, userId: string): boolean {
  return (event.type === 'created' && event.members.some((m) => m.userId === userId)) || (event.type === 'member_added' && event.userId === userId)
}

function isDirectMember (conversationId: string, userId: string): boolean {
  return directMembers(conversationId)?.includes(userId) ?? false
}
