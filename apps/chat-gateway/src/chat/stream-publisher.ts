import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node'

export interface PubAck {
  seq: number
  /** The stream already had this Nats-Msg-Id (within its duplicate window): `seq` is the original's. */
  duplicate: boolean
}

/** The stream did not (or may not have) stored the message. */
export class PublishError extends Error {
  override name = 'PublishError'
  /** No stream answered, or it answered that it cannot store now (a leader being elected): the same publish may succeed later. */
  constructor (message: string, readonly retryable = false) {
    super(message)
  }
}

/**
 * A publish's header block, written out once. nats.js's publish reads
 * nothing of its headers but `encode()` (nats-core protocol.js); its
 * MsgHdrsImpl keeps a map of arrays, checks every value with a regexp and
 * serializes itself anew for each publish, which was 4 % of the gateway's
 * CPU. The values are checked here instead: a CR or LF would end the block.
 */
class HeaderBlock {
  readonly #bytes: Uint8Array
  constructor (text: string) {
    this.#bytes = Buffer.from(text)
  }

  encode (): Uint8Array {
    return this.#bytes
  }
}

const LINE_BREAK = /[\r\n]/

function publishHeaders (msgId: string, stream: string): MsgHdrs {
  if (LINE_BREAK.test(msgId)) throw new PublishError('a message id cannot hold a line break')
  // Only encode() is called on it (above): the rest of MsgHdrs is never used.
  return new HeaderBlock(`NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\nNats-Expected-Stream: ${stream}\r\n\r\n`) as unknown as MsgHdrs
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

interface Pending {
  resolve: (ack: PubAck) => void
  reject: (err: Error) => void
  deadline: number
}

interface Outgoing {
  token: string
  subject: string
  data: string
  msgId: string
}

/**
 * JetStream publishes with `Nats-Msg-Id`, as `js.publish` makes them, but
 * with one reply subscription and one timer for all of them. nats.js's
 * request path costs a timer, a mux entry and an Error (with its stack) per
 * publish: measured here, 2.5 times the CPU and half the rate. The gateway
 * publishes every message it is sent, so this is its hottest path.
 *
 * Publishes are handed to the connection together once per event-loop turn
 * (setImmediate): nats.js writes to its socket in a microtask after the
 * first publish of a batch, and sends arrive in many socket callbacks, each
 * with its own microtasks, so without this each socket's frames cost a write
 * of their own. Writes to loopback TCP were the largest single cost in the
 * gateway's profile (12 % of its CPU at saturation).
 *
 * A publish that gets no answer (the stream's leader died, a new one is
 * being elected, the connection moves to another server) is sent again
 * with the same Nats-Msg-Id until its deadline, `timeoutMs` from the first
 * try: the stream stores it once however many copies reach it, and the
 * original's seq comes back for a copy (`duplicate`). Only then does the
 * caller hear that it failed (`unavailable`, send again with the same id).
 */
export class StreamPublisher {
  readonly #nc: NatsConnection
  readonly #stream: string
  readonly #timeoutMs: number
  readonly #attemptMs: number
  #closed = false
  readonly #inbox: string
  readonly #pending = new Map<string, Pending>()
  readonly #replies: Subscription
  readonly #sweep: NodeJS.Timeout
  #next = 0
  #outgoing: Outgoing[] = []

  /**
   * `timeoutMs`: how long a publish is tried in all; `attemptMs`: how long
   * one try waits for its answer; `inbox`: the connection's inbox prefix
   * (the app's NATS user may subscribe to its own replies only).
   */
  constructor (nc: NatsConnection, stream: string, { timeoutMs = 10_000, attemptMs = 2_000, inbox }: { timeoutMs?: number, attemptMs?: number, inbox?: string } = {}) {
    this.#nc = nc
    this.#inbox = createInbox(inbox)
    this.#stream = stream
    this.#timeoutMs = timeoutMs
    this.#attemptMs = Math.min(attemptMs, timeoutMs)
    this.#replies = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => { if (err === null) this.#onReply(msg) }
    })
    this.#sweep = setInterval(() => { this.#expire() }, Math.max(10, Math.min(250, this.#attemptMs / 4)))
    this.#sweep.unref()
  }

  /** Resolves once the stream stored the message (or had it already). */
  async publish (subject: string, data: string, msgId: string): Promise<PubAck> {
    const deadline = Date.now() + this.#timeoutMs
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#attempt(subject, data, msgId, Math.min(deadline, Date.now() + this.#attemptMs))
      } catch (err) {
        const wait = Math.min(1_000, 50 * 2 ** attempt)
        if (!(err instanceof PublishError) || !err.retryable || this.#closed || Date.now() + wait >= deadline) throw err
        await sleep(wait)
      }
    }
  }

  async #attempt (subject: string, data: string, msgId: string, deadline: number): Promise<PubAck> {
    if (this.#nc.isClosed() || this.#closed) throw new PublishError('the NATS connection is closed')
    const token = (this.#next++).toString(36)
    return await new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, deadline })
      if (this.#outgoing.length === 0) setImmediate(() => { this.#flush() })
      this.#outgoing.push({ token, subject, data, msgId })
    })
  }

  /** Fails what is still waiting and stops. */
  close (): void {
    this.#closed = true
    clearInterval(this.#sweep)
    this.#replies.unsubscribe()
    // Not published: their senders are told it failed, and retry with the same id.
    this.#outgoing = []
    for (const p of this.#pending.values()) p.reject(new PublishError('closed'))
    this.#pending.clear()
  }

  #flush (): void {
    const outgoing = this.#outgoing
    this.#outgoing = []
    for (const { token, subject, data, msgId } of outgoing) {
      try {
        this.#nc.publish(subject, data, { reply: `${this.#inbox}.${token}`, headers: publishHeaders(msgId, this.#stream) })
      } catch (err) {
        const p = this.#pending.get(token)
        this.#pending.delete(token)
        p?.reject(err instanceof Error ? err : new PublishError(String(err)))
      }
    }
  }

  #onReply (msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length + 1)
    const p = this.#pending.get(token)
    if (p === undefined) return
    this.#pending.delete(token)
    if (msg.headers?.code === 503) {
      p.reject(new PublishError('no stream answered (no responders)', true))
      return
    }
    let ack: { seq?: unknown, duplicate?: unknown, error?: { code?: unknown, description?: unknown } }
    try {
      ack = msg.json()
    } catch {
      p.reject(new PublishError('the stream answered with something that is not JSON'))
      return
    }
    // 503: JetStream cannot store now (no leader yet); anything else is a refusal of this message.
    if (ack.error !== undefined) p.reject(new PublishError(`the stream refused the message: ${String(ack.error.description)}`, ack.error.code === 503))
    else if (typeof ack.seq !== 'number') p.reject(new PublishError('the stream answered without a seq'))
    else p.resolve({ seq: ack.seq, duplicate: ack.duplicate === true })
  }

  #expire (): void {
    const now = Date.now()
    // A try's deadline is capped by its publish's, so they are not in insertion order: look at all.
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) continue
      this.#pending.delete(token)
      p.reject(new PublishError('the stream did not answer in time', true))
    }
  }
}
