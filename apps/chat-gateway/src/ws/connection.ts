import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import { CloseCode, type ErrorCode, type Ref, type ServerFrame } from '@metadome/contracts'
import type { LiveItem } from '../chat/live-item.js'

/** Live messages held back during catch-ups, at most, in send buffers' worth. */
const HELD_BUFFERS = 4
/** A catch-up waits this long for a socket to read its buffer down. */
const DRAIN_TIMEOUT_MS = 30_000

export interface ConnectionOptions {
  maxBufferedBytes: number
  /** Told each close the gateway initiates, with its code (metrics). */
  onClose?: (code: number) => void
}

/**
 * Which stored messages the catch-ups queued on a socket have written: every
 * conversation up to `all`, and some conversations up to more. A live message
 * held back meanwhile is dropped at the end when it is covered.
 */
class Coverage {
  all = -1
  readonly conversations = new Map<string, number>()
  /** The last seq a running catch-up wrote, by conversation (each writes a conversation in seq order). */
  readonly progress = new Map<string, number>()
  /** Live messages written ahead of a catch-up's later ones, so none is written twice. */
  readonly early = new Set<number>()

  of (conversationId: string): number {
    return Math.max(this.all, this.conversations.get(conversationId) ?? -1)
  }

  /** Whether a held live message was written by a catch-up already, or is theirs to write. */
  has (item: LiveItem): boolean {
    return item.seq <= this.of(item.conversationId) || item.seq <= (this.progress.get(item.conversationId) ?? -1)
  }

  cover (conversationId: string | undefined, upTo: number): void {
    if (conversationId === undefined) this.all = Math.max(this.all, upTo)
    else this.conversations.set(conversationId, Math.max(this.conversations.get(conversationId) ?? -1, upTo))
  }
}

/** What a catch-up job gets to work with. */
export interface CatchUpContext {
  /** Writes a stored message unless the socket already has it; call in seq order. */
  write: (item: LiveItem) => void
  /** Seqs up to which this socket already got everything, by conversation, from earlier jobs of this run. */
  coveredUpTo: (conversationId: string) => number
  /** Records that every message of `conversationId` (or every conversation) up to `upTo` was written. */
  cover: (conversationId: string | undefined, upTo: number) => void
  /** Resolves once the socket's send buffer has room, so a long catch-up never outgrows the limit. */
  drained: () => Promise<void>
}

/**
 * One authenticated-or-not WebSocket and what the gateway knows about it.
 *
 * Delivery state: the socket got every message of its user's conversations
 * with `coveredFrom < seq <= cursor`. Live messages are written as they
 * arrive. While catch-ups (sync, a newly joined conversation, a NATS
 * reconnect) are queued or running, live messages are held back instead, and
 * written after the last one, minus those a catch-up already wrote: so
 * between catch-up and live feed there is no gap and no duplicate.
 */
export class Connection {
  readonly id = randomUUID()
  userId: string | undefined
  /** The session of the token the socket lives on (`sid`). */
  sessionId: string | undefined
  /** Seconds since the epoch, from the token (`iat`); 0 when it had none. */
  tokenIssuedAt = 0
  /** Seconds since the epoch, from the token (`exp`): past it plus a grace, the socket is closed unless renewed. */
  tokenExpiresAt = Number.POSITIVE_INFINITY
  cursor = 0
  coveredFrom = 0
  closed = false
  /** Answered the last WebSocket ping. */
  alive = true

  readonly #socket: WebSocket
  readonly #log: FastifyBaseLogger
  readonly #limits: ConnectionOptions
  #jobs: Promise<void> = Promise.resolve()
  #queued = 0
  #held: LiveItem[] | undefined
  #heldBytes = 0
  #corked = false
  #coverage: Coverage | undefined
  /** Ids this socket sent and whose live copy has not come back yet: it got an `ack` instead. */
  #own: Set<string> | undefined

  constructor (socket: WebSocket, log: FastifyBaseLogger, limits: ConnectionOptions) {
    this.#socket = socket
    this.#log = log
    this.#limits = limits
  }

  /** The socket now lives on this (verified) token. */
  adopt (token: { userId: string, sessionId: string, issuedAt: number, expiresAt: number }): void {
    this.userId = token.userId
    this.sessionId = token.sessionId
    this.tokenIssuedAt = token.issuedAt
    this.tokenExpiresAt = token.expiresAt
  }

  get bufferedAmount (): number {
    return this.#socket.bufferedAmount
  }

  send (frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame))
  }

  sendError (code: ErrorCode, message: string, ref?: Ref): void {
    this.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  }

  /** Writes a serialized frame; a peer that lets its buffer pass the limit is closed with 4008. */
  sendText (text: string): void {
    if (this.closed || this.#socket.readyState !== this.#socket.OPEN) return
    this.#cork()
    this.#socket.send(text)
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.close(CloseCode.tooSlow, 'too slow to keep up')
    }
  }

  /**
   * Frames written in one tick leave in one write: ws corks and uncorks the
   * TCP socket around each frame (one syscall each); an outer cork until the
   * next tick coalesces them (uncork nests), at no cost in latency. With ten
   * frames per socket per tick, a third of the CPU per frame. Corked bytes
   * count in bufferedAmount, so the 4008 limit holds.
   */
  #cork (): void {
    if (this.#corked) return
    // ws keeps its net.Socket as `_socket`; not in its types.
    const raw = (this.#socket as unknown as { _socket?: Duplex | null })._socket
    if (raw === undefined || raw === null) return
    this.#corked = true
    raw.cork()
    process.nextTick(() => {
      this.#corked = false
      raw.uncork()
    })
  }

  close (code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.#held = undefined
    this.#log.debug({ connectionId: this.id, userId: this.userId, code, reason }, 'closing socket')
    this.#limits.onClose?.(code)
    try {
      this.#socket.close(code, reason)
    } catch {
      this.#socket.terminate()
    }
  }

  /** A WebSocket ping; a peer that did not answer the previous one is cut off. */
  ping (): void {
    if (!this.alive) {
      this.closed = true
      this.#socket.terminate()
      return
    }
    this.alive = false
    this.#socket.ping()
  }

  /** Marks a message id as sent from this socket: it gets the `ack`, not the `message`. */
  markOwn (id: string): void {
    this.#own ??= new Set()
    this.#own.add(id)
  }

  forgetOwn (id: string): void {
    this.#own?.delete(id)
  }

  /** A live message from NATS for one of this socket's conversations. */
  deliver (item: LiveItem): void {
    if (this.closed) return
    if (this.#held !== undefined) {
      this.#held.push(item)
      this.#heldBytes += item.frame.length
      // Held back during a catch-up that cannot keep up: as good as a slow reader.
      if (this.#heldBytes > HELD_BUFFERS * this.#limits.maxBufferedBytes) this.close(CloseCode.tooSlow, 'too slow to keep up')
      return
    }
    this.#write(item)
  }

  #write (item: LiveItem): void {
    if (item.seq > this.cursor) this.cursor = item.seq
    if (this.#own?.delete(item.id) === true) return
    this.sendText(item.frame)
  }

  /**
   * Queues a catch-up. Live messages are held back from now until the queue
   * is empty; `job` must cover (with ctx.cover) what it wrote.
   */
  catchUp (job: (ctx: CatchUpContext) => Promise<void>): Promise<void> {
    this.#held ??= []
    this.#coverage ??= new Coverage()
    this.#queued++
    const coverage = this.#coverage
    const ctx: CatchUpContext = {
      write: (item) => {
        if (this.closed || item.seq <= coverage.of(item.conversationId) || coverage.early.has(item.seq)) return
        this.#writeHeldBelow(item.seq, coverage)
        coverage.progress.set(item.conversationId, item.seq)
        if (!this.closed) this.#write(item)
      },
      coveredUpTo: (conversationId) => coverage.of(conversationId),
      cover: (conversationId, upTo) => { coverage.cover(conversationId, upTo) },
      drained: async () => { await this.#drained() }
    }
    const run = this.#jobs.then(async () => {
      if (this.closed) return
      await job(ctx)
    }).catch((err: unknown) => {
      this.#log.error({ err, connectionId: this.id }, 'catch-up failed')
    }).finally(() => {
      if (--this.#queued === 0) this.#release(coverage)
    })
    this.#jobs = run
    return run
  }

  #release (coverage: Coverage): void {
    const held = this.#held ?? []
    this.#held = undefined
    this.#heldBytes = 0
    this.#coverage = undefined
    if (coverage.all > this.cursor) this.cursor = coverage.all
    for (const item of held) {
      if (this.closed) return
      if (coverage.has(item)) continue
      this.#write(item)
    }
  }

  /**
   * Before a catch-up writes `seq`, the live messages held back below it go
   * first (those the catch-ups wrote or will write are dropped): a socket
   * gets seqs in order, so a client's cursor never passes a message it has
   * not been given yet. Held messages arrive in stream order.
   */
  #writeHeldBelow (seq: number, coverage: Coverage): void {
    const held = this.#held
    if (held === undefined) return
    let n = 0
    for (; n < held.length && (held[n] as LiveItem).seq < seq; n++) {
      const item = held[n] as LiveItem
      this.#heldBytes -= item.frame.length
      if (this.closed || coverage.has(item)) continue
      coverage.early.add(item.seq)
      this.#write(item)
    }
    if (n > 0) held.splice(0, n)
  }

  async #drained (): Promise<void> {
    const low = this.#limits.maxBufferedBytes / 2
    const deadline = Date.now() + DRAIN_TIMEOUT_MS
    while (!this.closed && this.#socket.bufferedAmount > low) {
      if (Date.now() > deadline) {
        this.close(CloseCode.tooSlow, 'too slow to keep up')
        return
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}
