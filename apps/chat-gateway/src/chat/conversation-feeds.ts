import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import type { chatSubjects } from '@metadome/contracts'

/** What arrives on a conversation's feeds. */
export interface FeedHandlers {
  /** A stored message, re-published by the CHAT stream with its seq. */
  message: (conversationId: string, msg: Msg) => void
  /** A stored group change, re-published likewise. */
  change: (conversationId: string, msg: Msg) => void
  /** Typing or a receipt (core NATS, not stored). */
  signal: (conversationId: string, msg: Msg) => void
}

interface Feed {
  /** Local users who are members; the subscriptions end with the last one. */
  users: Set<string>
  live: Subscription
  signals: Subscription
}

/**
 * The NATS subscriptions of the conversations with a member connected here,
 * reference-counted over local users: for each, one core subscription to
 * `<ns>.live.*.<conversationId>`, where the CHAT stream re-publishes each
 * stored message and group change once, with its seq (messages and changes
 * on one subscription arrive in stream order, so a removal is applied
 * before any later message is written), and one to `<ns>.signal.<id>`.
 * Never a queue group: every gateway with a member must get every message.
 */
export class ConversationFeeds {
  readonly #nc: NatsConnection
  readonly #subjects: ReturnType<typeof chatSubjects>
  readonly #handlers: FeedHandlers
  readonly #feeds = new Map<string, Feed>()
  readonly #changePrefix: string

  constructor (nc: NatsConnection, subjects: ReturnType<typeof chatSubjects>, handlers: FeedHandlers) {
    this.#nc = nc
    this.#subjects = subjects
    this.#handlers = handlers
    this.#changePrefix = subjects.liveConversationEvent('')
  }

  get size (): number {
    return this.#feeds.size
  }

  /** The local members of a followed conversation. */
  usersOf (conversationId: string): ReadonlySet<string> | undefined {
    return this.#feeds.get(conversationId)?.users
  }

  /** Follows the conversation for `userId` (subscribing if no local user did). */
  add (conversationId: string, userId: string): void {
    const existing = this.#feeds.get(conversationId)
    if (existing !== undefined) {
      existing.users.add(userId)
      return
    }
    this.#feeds.set(conversationId, {
      users: new Set([userId]),
      live: this.#nc.subscribe(this.#subjects.liveAny(conversationId), {
        callback: (err, msg) => {
          if (err !== null) return
          if (msg.subject.startsWith(this.#changePrefix)) this.#handlers.change(conversationId, msg)
          else this.#handlers.message(conversationId, msg)
        }
      }),
      signals: this.#nc.subscribe(this.#subjects.signal(conversationId), {
        callback: (err, msg) => { if (err === null) this.#handlers.signal(conversationId, msg) }
      })
    })
  }

  /** Stops following it for `userId`; the last local member's leaving unsubscribes. */
  remove (conversationId: string, userId: string): void {
    const feed = this.#feeds.get(conversationId)
    if (feed === undefined || !feed.users.delete(userId) || feed.users.size > 0) return
    feed.live.unsubscribe()
    feed.signals.unsubscribe()
    this.#feeds.delete(conversationId)
  }
}
