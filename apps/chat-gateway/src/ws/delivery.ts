import { CloseCode } from '@metadome/contracts'
import type { LiveItem } from '../chat/live-item.js'

/** Live messages held back during catch-ups, at most, in send buffers' worth. */
const HELD_BUFFERS = 4
/** A catch-up waits this long for a socket to read its buffer down. */
const DRAIN_TIMEOUT_MS = 30_000

/** What a Delivery writes to: one socket. */
export interface DeliverySink {
  /** Writes a serialized frame (closing the socket past its buffer limit). */
  write: (text: string) => void
  isClosed: () => boolean
  close: (code: number, reason: string) => void
  /** Bytes queued to the socket. */
  bufferedAmount: () => number
  /** The socket's buffer limit (WS_MAX_BUFFERED_BYTES). */
  readonly maxBufferedBytes: number
  onError: (err: unknown) => void
}

/**
 * Which stored messages the catch-ups queued on a socket have written: every
 * conversation up to `all`, and some conversations up to more. A live message
 * held back meanwhile is dropped at the end when it is covered.
 */
export class Coverage {
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
 * What one socket was given, and the no-gap invariant between the stored
 * messages that catch-ups read and the live feed.
 *
 * The socket got every message of its user's conversations with
 * `coveredFrom < seq <= cursor`. Live messages are written as they arrive.
 * While catch-ups (sync, a newly joined conversation, a NATS reconnect) are
 * queued or running, live messages are held back instead, and written after
 * the last one, minus those a catch-up already wrote: so between catch-up
 * and live feed there is no gap and no duplicate. A catch-up that writes a
 * seq first writes the live messages held below it, so a socket gets seqs in
 * order and a client's cursor never passes a message it has not been given.
 */
export class Delivery {
  cursor = 0
  coveredFrom = 0

  readonly #sink: DeliverySink
  #jobs: Promise<void> = Promise.resolve()
  #queued = 0
  #held: LiveItem[] | undefined
  #heldBytes = 0
  #coverage: Coverage | undefined
  /** Ids this socket sent and whose live copy has not come back yet: it got an `ack` instead. */
  #own: Set<string> | undefined

  constructor (sink: DeliverySink) {
    this.#sink = sink
  }

  /** Whether catch-ups are queued or running (live messages are held back). */
  get catchingUp (): boolean {
    return this.#held !== undefined
  }

  /** Marks a message id as sent from this socket: it gets the `ack`, not the `message`. */
  markOwn (id: string): void {
    this.#own ??= new Set()
    this.#own.add(id)
  }

  forgetOwn (id: string): void {
    this.#own?.delete(id)
  }

  /** Drops what is held (the socket is closing). */
  discard (): void {
    this.#held = undefined
    this.#heldBytes = 0
  }

  /** A live message from NATS for one of this socket's conversations. */
  deliver (item: LiveItem): void {
    if (this.#sink.isClosed()) return
    if (this.#held !== undefined) {
      this.#held.push(item)
      this.#heldBytes += item.frame.length
      // Held back during a catch-up that cannot keep up: as good as a slow reader.
      if (this.#heldBytes > HELD_BUFFERS * this.#sink.maxBufferedBytes) this.#sink.close(CloseCode.tooSlow, 'too slow to keep up')
      return
    }
    this.#write(item)
  }

  #write (item: LiveItem): void {
    if (item.seq > this.cursor) this.cursor = item.seq
    if (this.#own?.delete(item.id) === true) return
    this.#sink.write(item.frame)
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
        if (this.#sink.isClosed() || item.seq <= coverage.of(item.conversationId) || coverage.early.has(item.seq)) return
        this.#writeHeldBelow(item.seq, coverage)
        coverage.progress.set(item.conversationId, item.seq)
        if (!this.#sink.isClosed()) this.#write(item)
      },
      coveredUpTo: (conversationId) => coverage.of(conversationId),
      cover: (conversationId, upTo) => { coverage.cover(conversationId, upTo) },
      drained: async () => { await this.#drained() }
    }
    const run = this.#jobs.then(async () => {
      if (this.#sink.isClosed()) return
      await job(ctx)
    }).catch((err: unknown) => {
      this.#sink.onError(err)
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
      if (this.#sink.isClosed()) return
      if (coverage.has(item)) continue
      this.#write(item)
    }
  }

  /** Writes the live messages held back below `seq` (those the catch-ups wrote or will write are dropped). Held messages arrive in stream order. */
  #writeHeldBelow (seq: number, coverage: Coverage): void {
    const held = this.#held
    if (held === undefined) return
    let n = 0
    for (; n < held.length && (held[n] as LiveItem).seq < seq; n++) {
      const item = held[n] as LiveItem
      this.#heldBytes -= item.frame.length
      if (this.#sink.isClosed() || coverage.has(item)) continue
      coverage.early.add(item.seq)
      this.#write(item)
    }
    if (n > 0) held.splice(0, n)
  }

  async #drained (): Promise<void> {
    const low = this.#sink.maxBufferedBytes / 2
    const deadline = Date.now() + DRAIN_TIMEOUT_MS
    while (!this.#sink.isClosed() && this.#sink.bufferedAmount() > low) {
      if (Date.now() > deadline) {
        this.#sink.close(CloseCode.tooSlow, 'too slow to keep up')
        return
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}
