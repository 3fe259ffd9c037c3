import type { NatsConnection, Msg } from '@nats-io/transport-node'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { Namespace } from '@metadome/nats'
import {
  chatSubjects, ConversationEvent, ReceiptEventFrame, TypingEventFrame,
  type ChatRpcClient, type Conversation, type ConversationChange, type ConversationFrame, type JoinedNotice, type Ref
} from '@metadome/contracts'
import type { AuthenticatedConnection } from '../ws/connection.js'
import type { CatchUpContext } from '../ws/delivery.js'
import { liveItem } from './live-item.js'
import { Semaphore } from '@metadome/service'
import { ConversationFeeds } from './conversation-feeds.js'
import { JoinNotices } from './join-notices.js'
import { loadMemberships } from './membership-loader.js'
import { MembershipBatches } from './membership-batches.js'
import { catchUpConversation, liveWindow, syncSocket, type CatchUpDeps, type LiveWindow } from './catch-up.js'
import { retried } from './retried.js'
import { coalesced } from './coalesced.js'

export interface HubDeps {
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  ns: Namespace
  writer: ChatRpcClient
  log: FastifyBaseLogger
  /** The CHAT stream's name. */
  stream: string
  /** WS_MAX_SOCKETS_PER_USER: sockets one user may have open on this gateway. */
  maxSocketsPerUser?: number
  /** CATCH_UP_STREAM_MAX: entries one connect or sync may read from CHAT (see checkReadable). */
  streamReadMax: number
}

/** The user has WS_MAX_SOCKETS_PER_USER sockets here already (close 4429). */
export class TooManySockets extends Error {
  override name = 'TooManySockets'
}

/** A user with sockets here, and what this gateway knows of their conversations. */
interface LocalUser {
  sockets: Set<AuthenticatedConnection>
  conversations: Set<string>
  ready: Promise<void>
  /** `ready` has resolved: a join can act at once, in the callback that brought its notice. */
  loaded: boolean
  /** Groups: the seq of the change that added the user (nothing at or below it is theirs); absent while there is none (most users: memory per idle socket). */
  floors?: Map<string, number>
  /** Groups the user was removed from while connected, by the removal's seq; absent likewise. */
  left?: Map<string, number>
}

const isConversationEvent = Compile(ConversationEvent)
const isSignal = Compile(Type.Union([ReceiptEventFrame, TypingEventFrame]))

/**
 * The stream's last seq, the writer's position, flushes and memberships are
 * asked at most once per this long (coalesced, MembershipBatches): a connect
 * waits up to that much more for each, and a storm of thousands of connects
 * a second shares them. At 10 ms, a storm of 19,000 connects cost the writer
 * 145 µs and nats-server 98 µs per connect (bench `idle`); at 25 ms, 73-93
 * and 40-68, for a lone connect's 20 ms more.
 */
const SHARED_CALL_SPACING_MS = 25

/**
 * The sockets this gateway holds, by user, composed with what feeds them:
 * ConversationFeeds (the live NATS subscriptions of their conversations),
 * JoinNotices (conversations they join while connected), the membership
 * loaded when a user's first socket arrives, and catch-ups (sync, a newly
 * joined conversation, a NATS reconnect) run through each socket's
 * Delivery, which keeps catch-up and live feed without gap or duplicate.
 *
 * A live message is parsed never and serialized once per gateway, then
 * written to every socket of every local member. A group change on the live
 * feed updates who is a member here before any later message is written (one
 * subscription, stream order): a removed user gets nothing more of it.
 */
export class Hub {
  readonly #deps: HubDeps
  readonly #subjects: ReturnType<typeof chatSubjects>
  readonly #catchUpDeps: CatchUpDeps
  readonly #users = new Map<string, LocalUser>()
  readonly #feeds: ConversationFeeds
  readonly #notices: JoinNotices
  /**
   * Catch-ups that read the writer and the stream at once, gateway-wide:
   * after a NATS reconnect every socket catches up, and ten thousand
   * ephemeral consumers at once would hurt the NATS servers more than the
   * wait hurts the sockets (their live feed is held meanwhile, bounded).
   */
  readonly #catchUps = new Semaphore(32)
  readonly #memberships: MembershipBatches

  constructor (deps: HubDeps) {
    this.#deps = deps
    this.#subjects = chatSubjects(deps.ns)
    this.#catchUpDeps = { ...deps, subjects: this.#subjects, lastSeq: async () => await this.lastSeq() }
    this.#memberships = new MembershipBatches(deps.writer, { spacingMs: SHARED_CALL_SPACING_MS })
    this.#feeds = new ConversationFeeds(deps.nc, this.#subjects, {
      message: (conversationId, msg) => { this.#onLive(conversationId, msg) },
      change: (conversationId, msg) => { this.#onChange(conversationId, msg) },
      signal: (conversationId, msg) => { this.#onSignal(conversationId, msg) }
    })
    this.#notices = new JoinNotices({
      nc: deps.nc,
      subjects: this.#subjects,
      log: deps.log,
      holds: (userId) => this.#users.has(userId),
      onJoin: (userId, notice) => { this.#onJoinNotice(userId, notice) }
    })
  }

  /** Stops following join notices (the NATS connection drains the rest). */
  close (): void {
    this.#notices.close()
  }

  get socketCount (): number {
    let n = 0
    for (const user of this.#users.values()) n += user.sockets.size
    return n
  }

  get subscribedConversations (): number {
    return this.#feeds.size
  }

  * connections (): Iterable<AuthenticatedConnection> {
    for (const user of this.#users.values()) yield * user.sockets
  }

  socketsOf (userId: string): Iterable<AuthenticatedConnection> {
    return this.#users.get(userId)?.sockets ?? []
  }

  /** Whether this gateway saw `userId` removed from `conversationId` (while connected; the writer may not have stored it yet). */
  hasLeft (userId: string, conversationId: string): boolean {
    return this.#users.get(userId)?.left?.has(conversationId) ?? false
  }

  /** Whether `userId` is known here to be a member of `conversationId` (only meaningful while they are connected). */
  knowsMember (userId: string, conversationId: string): boolean {
    return this.#users.get(userId)?.conversations.has(conversationId) ?? false
  }

  /** Tells every gateway holding these users that they are in `conversation`. */
  announce (userIds: string[], conversation: Conversation, group?: { joinedSeq: number, change: ConversationChange }): void {
    this.#notices.announce(userIds, conversation, group)
  }

  /** Relays a receipt or typing frame to the other members' sockets, on every gateway. */
  signal (conversationId: string, frame: ReceiptEventFrame | TypingEventFrame): void {
    this.#deps.nc.publish(this.#subjects.signal(conversationId), JSON.stringify(frame))
  }

  /** The stream's last seq, read after the call (one request for everyone asking at once: see coalesced). */
  readonly lastSeq = coalesced(async (): Promise<number> => (await this.#deps.jsm.streams.info(this.#deps.stream)).state.last_seq, { spacingMs: SHARED_CALL_SPACING_MS })

  /** The writer's position, read after the call, shared likewise: a storm asked it once per socket. */
  readonly #storedThrough = coalesced(async (): Promise<number> => (await this.#deps.writer.call('writer.position', {})).storedThrough, { spacingMs: SHARED_CALL_SPACING_MS })

  /** A round trip to the NATS server after everything written so far (subscriptions), shared likewise. */
  readonly #flushed = coalesced(async (): Promise<void> => { await this.#deps.nc.flush() }, { spacingMs: SHARED_CALL_SPACING_MS })

  /**
   * Adds an authenticated socket: its user's conversations are subscribed
   * first; then `onReady` runs (it sends `ready`) and live delivery starts
   * from the stream's current end.
   */
  async attach (conn: AuthenticatedConnection, onReady: () => void): Promise<void> {
    const userId = conn.userId
    let user = this.#users.get(userId)
    if (user === undefined) {
      const created: LocalUser = { sockets: new Set(), conversations: new Set(), ready: Promise.resolve(), loaded: false }
      created.ready = this.#load(userId, created).then(() => { created.loaded = true })
      this.#users.set(userId, created)
      user = created
    }
    try {
      await user.ready
    } catch (err) {
      if (user.sockets.size === 0 && this.#users.get(userId) === user) this.#drop(userId, user)
      throw err
    }
    if (conn.closed) {
      if (user.sockets.size === 0 && this.#users.get(userId) === user) this.#drop(userId, user)
      return
    }
    // Checked and added with no await between: concurrent sockets count too.
    const max = this.#deps.maxSocketsPerUser ?? Number.POSITIVE_INFINITY
    if (user.sockets.size >= max) throw new TooManySockets(`at most ${max} sockets per user on one gateway`)
    user.sockets.add(conn)
    // Everything stored before this point is for `sync`; everything after is live.
    let failure: unknown
    await conn.delivery.catchUp(async (ctx) => {
      try {
        const last = await this.lastSeq()
        conn.delivery.coveredFrom = last
        conn.delivery.cursor = last
        ctx.cover(undefined, last)
        onReady()
      } catch (err) {
        failure = err
      }
    })
    if (failure !== undefined) throw failure
  }

  detach (conn: AuthenticatedConnection): void {
    const user = this.#users.get(conn.userId)
    if (user === undefined || !user.sockets.delete(conn)) return
    if (user.sockets.size === 0) this.#drop(conn.userId, user)
  }

  /** Closes every local socket of a user that `which` selects. */
  closeUser (userId: string, code: number, reason: string, which: (conn: AuthenticatedConnection) => boolean = () => true): number {
    let n = 0
    for (const conn of [...this.socketsOf(userId)]) {
      if (!which(conn)) continue
      conn.close(code, reason)
      n++
    }
    return n
  }

  /**
   * `sync` (see syncSocket): every message after `after` in the user's
   * conversations, once, in seq order, then `synced`. Direct conversations
   * found on the way are joined.
   */
  sync (conn: AuthenticatedConnection, after: number, reply: { ref?: Ref }): Promise<void> {
    return conn.delivery.catchUp(async (ctx) => {
      try {
        await this.#syncNow(conn, after, reply, ctx, liveWindow(conn))
      } catch (err) {
        // Nothing is covered: what was held back is all written, so a failed
        // catch-up loses nothing live; the client syncs again.
        this.#deps.log.warn({ err, connectionId: conn.id }, 'catch-up failed')
        conn.sendError('unavailable', 'cannot catch up now, sync again', reply.ref)
      }
    })
  }

  /**
   * Catches every socket up from its cursor: after a NATS reconnect, live
   * messages may have been missed. No client asked, so each is retried.
   */
  resumeAll (): void {
    for (const conn of this.connections()) {
      const after = conn.delivery.cursor
      let window: LiveWindow | undefined
      void conn.delivery.catchUp(retried(conn, this.#deps.log, 'resuming after a NATS reconnect', async (ctx) => {
        window ??= liveWindow(conn)
        await this.#syncNow(conn, after, undefined, ctx, window)
      }))
    }
  }

  async #syncNow (conn: AuthenticatedConnection, after: number, reply: { ref?: Ref } | undefined, ctx: CatchUpContext, window: LiveWindow): Promise<void> {
    await this.#catchUps.run(async () => {
      const user = this.#users.get(conn.userId)
      if (user === undefined) return
      const discovered = await syncSocket(this.#catchUpDeps, conn, user, after, reply, ctx, window)
      for (const conversationId of discovered) void this.#joinNow(conn.userId, user, conversationId)
    })
  }

  /**
   * A local user is (now) a member of `conversationId`: subscribe, and catch
   * each of their sockets up on it from where its live feed started.
   */
  async join (userId: string, conversationId: string, conversation?: Conversation, joinedSeq?: number, change?: ConversationChange): Promise<void> {
    const user = this.#users.get(userId)
    if (user === undefined) return
    // Loaded: no await before the catch-ups are queued, so live messages that
    // follow the notice in the same NATS read are held back already.
    if (!user.loaded) {
      try {
        await user.ready
      } catch {
        return
      }
      if (this.#users.get(userId) !== user) return
    }
    if (joinedSeq !== undefined) {
      user.left?.delete(conversationId)
      ;(user.floors ??= new Map()).set(conversationId, joinedSeq)
    }
    if (conversation !== undefined) {
      const frame: ConversationFrame = change === undefined ? { type: 'conversation', conversation } : { type: 'conversation', conversation, change }
      for (const conn of user.sockets) conn.send(frame)
    }
    await this.#joinNow(userId, user, conversationId)
  }

  #onJoinNotice (userId: string, notice: JoinedNotice): void {
    this.join(userId, notice.conversation.id, notice.conversation, notice.joinedSeq, notice.change).catch((err: unknown) => {
      this.#deps.log.error({ err, userId }, 'joining a conversation failed')
    })
  }

  /**
   * Synchronous up to the queuing of each socket's catch-up, so that a sync
   * that finds a conversation queues its catch-up before it ends (and the
   * live messages of that conversation stay held back in between).
   */
  #joinNow (userId: string, user: LocalUser, conversationId: string): Promise<void> {
    // A user who left meanwhile must not leave a subscription behind.
    if (this.#users.get(userId) !== user || user.conversations.has(conversationId)) return Promise.resolve()
    user.conversations.add(conversationId)
    this.#feeds.add(conversationId, userId)
    const subscribed = this.#flushed()
    subscribed.catch(() => {})
    for (const conn of user.sockets) {
      void conn.delivery.catchUp(retried(conn, this.#deps.log, `catching up on joined conversation ${conversationId}`, async (ctx) => {
        // Again after a failed flush: the subscription must be in place before the stream is read.
        await subscribed.catch(async () => { await this.#flushed() })
        const floor = user.floors?.get(conversationId) ?? 0
        await this.#catchUps.run(async () => { await catchUpConversation(this.#catchUpDeps, conn, conversationId, floor, ctx) })
      }))
    }
    return subscribed
  }

  async #load (userId: string, user: LocalUser): Promise<void> {
    const { conversations, floors } = await loadMemberships({ ...this.#catchUpDeps, storedThrough: this.#storedThrough, firstPage: async (u) => await this.#memberships.firstPage(u) }, userId, async () => await this.lastSeq())
    for (const c of conversations) {
      user.conversations.add(c)
      this.#feeds.add(c, userId)
    }
    if (floors.size > 0) user.floors = floors
    await this.#flushed()
  }

  #drop (userId: string, user: LocalUser): void {
    this.#users.delete(userId)
    for (const conversationId of user.conversations) this.#feeds.remove(conversationId, userId)
  }

  #onLive (conversationId: string, msg: Msg): void {
    const users = this.#feeds.usersOf(conversationId)
    if (users === undefined) return
    const item = liveItem(conversationId, msg)
    if (item === undefined) {
      this.#deps.log.warn({ subject: msg.subject }, 'dropped a live message without seq or JSON object payload')
      return
    }
    const { seq } = item
    for (const userId of users) {
      const user = this.#users.get(userId)
      if (user === undefined) continue
      if (seq <= (user.floors?.get(conversationId) ?? 0)) continue
      for (const conn of user.sockets) conn.delivery.deliver(item)
    }
  }

  /**
   * A group change, live: every local member's sockets get a `conversation`
   * frame; a local user it removes gets it too, then nothing more of the
   * conversation (unsubscribed here, and refused if they send).
   */
  #onChange (conversationId: string, msg: Msg): void {
    const users = this.#feeds.usersOf(conversationId)
    if (users === undefined) return
    const seq = Number(msg.headers?.get('Nats-Sequence'))
    let event: unknown
    try {
      event = msg.json()
    } catch {
      event = undefined
    }
    if (!Number.isSafeInteger(seq) || !isConversationEvent.Check(event)) {
      this.#deps.log.warn({ subject: msg.subject }, 'ignored a live group change that does not match the contract')
      return
    }
    const gone = event.type === 'member_removed' ? event.userId : event.type === 'member_left' ? event.actorId : undefined
    if (event.conversation !== undefined) {
      const change: ConversationChange = { type: event.type, seq, actorId: event.actorId, ...('userId' in event ? { userId: event.userId } : {}) }
      const text = JSON.stringify({ type: 'conversation', conversation: event.conversation, change } satisfies ConversationFrame)
      for (const userId of users) {
        for (const conn of this.socketsOf(userId)) conn.sendText(text)
      }
    }
    if (gone === undefined || !users.has(gone)) return
    const user = this.#users.get(gone)
    if (user !== undefined) {
      user.conversations.delete(conversationId)
      user.floors?.delete(conversationId)
      ;(user.left ??= new Map()).set(conversationId, seq)
    }
    this.#feeds.remove(conversationId, gone)
  }

  #onSignal (conversationId: string, msg: Msg): void {
    const users = this.#feeds.usersOf(conversationId)
    if (users === undefined) return
    let frame: unknown
    try {
      frame = msg.json()
    } catch {
      frame = undefined
    }
    if (!isSignal.Check(frame)) return
    const text = msg.string()
    for (const userId of users) {
      if (userId === frame.userId) continue
      for (const conn of this.socketsOf(userId)) conn.sendText(text)
    }
  }
}
