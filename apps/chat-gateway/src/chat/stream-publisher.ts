import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node'

export interface PubAck {
  seq: number
  /** The stream already had this Nats-Msg-Id (within its duplicate window): `seq` is the original's. */
  duplicate: boolean
}

/** The stream did not (or may not have) stored the message. */
export class PublishError extends Error {
  override name = 'PublishError'
}

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
 */
export class StreamPublisher {
  readonly #nc: NatsConnection
  readonly #stream: string
  readonly #timeoutMs: number
  readonly #inbox = createInbox()
  readonly #pending = new Map<string, Pending>()
  readonly #replies: Subscription
  readonly #sweep: NodeJS.Timeout
  #next = 0
  #outgoing: Outgoing[] = []

  constructor (nc: NatsConnection, stream: string, timeoutMs = 5_000) {
    this.#nc = nc
    this.#stream = stream
    this.#timeoutMs = timeoutMs
    this.#replies = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => { if (err === null) this.#onReply(msg) }
    })
    this.#sweep = setInterval(() => { this.#expire() }, Math.max(10, Math.min(250, timeoutMs / 4)))
    this.#sweep.unref()
  }

  /** Resolves once the stream stored the message (or had it already). */
  async publish (subject: string, data: string, msgId: string): Promise<PubAck> {
    if (this.#nc.isClosed()) throw new PublishError('the NATS connection is closed')
    const token = (this.#next++).toString(36)
    return await new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, deadline: Date.now() + this.#timeoutMs })
      if (this.#outgoing.length === 0) setImmediate(() => { this.#flush() })
      this.#outgoing.push({ token, subject, data, msgId })
    })
  }

  /** Fails what is still waiting and stops. */
  close (): void {
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
      const h = headers()
      h.set('Nats-Msg-Id', msgId)
      h.set('Nats-Expected-Stream', this.#stream)
      try {
        this.#nc.publish(subject, data, { reply: `${this.#inbox}.${token}`, headers: h })
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
      p.reject(new PublishError('no stream answered (no responders)'))
      return
    }
    let ack: { seq?: unknown, duplicate?: unknown, error?: { description?: unknown } }
    try {
      ack = msg.json()
    } catch {
      p.reject(new PublishError('the stream answered with something that is not JSON'))
      return
    }
    if (ack.error !== undefined) p.reject(new PublishError(`the stream refused the message: ${String(ack.error.description)}`))
    else if (typeof ack.seq !== 'number') p.reject(new PublishError('the stream answered without a seq'))
    else p.resolve({ seq: ack.seq, duplicate: ack.duplicate === true })
  }

  #expire (): void {
    const now = Date.now()
    // Deadlines grow in insertion order (one timeout for all): stop at the first one still ahead.
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) return
      this.#pending.delete(token)
      p.reject(new PublishError('the stream did not answer in time'))
    }
  }
}
