import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import type { FastifyBaseLogger } from 'fastify'
import { chatSubjects, type ChatRpcClient, type Namespace } from '@metadome/contracts'

/** How long a user's block list is trusted without a change notice (a lost notice heals within this). */
const CACHE_MS = 60_000
const CACHED_USERS = 50_000

/**
 * Whom each user blocked, as the writer stores it (blocks.list), cached per
 * user so that a direct send costs no request. A change made through any
 * gateway is announced on `blocksChanged`, and every gateway forgets that
 * user's list; a notice lost on the way is outlived by the cache's minute.
 */
export class BlockList {
  readonly #cache = new Map<string, { blocked: Promise<Set<string>>, at: number }>()
  readonly #subject: string
  #subscription: Subscription | undefined

  constructor (private readonly deps: { nc: NatsConnection, ns: Namespace, writer: ChatRpcClient, log: FastifyBaseLogger }) {
    this.#subject = chatSubjects(deps.ns).blocksChanged
  }

  start (): void {
    this.#subscription = this.deps.nc.subscribe(this.#subject, {
      callback: (err, msg) => {
        if (err !== null) return
        try {
          const { userId } = JSON.parse(msg.string()) as { userId?: unknown }
          if (typeof userId === 'string') this.#cache.delete(userId)
        } catch {
          // Not a notice of ours: nothing to forget.
        }
      }
    })
  }

  stop (): void {
    this.#subscription?.unsubscribe()
  }

  /** True when `userId` blocked `otherId`. */
  async blocks (userId: string, otherId: string): Promise<boolean> {
    return (await this.#of(userId)).has(otherId)
  }

  /** After a change: this gateway and every other one read the list again. */
  changed (userId: string): void {
    this.#cache.delete(userId)
    this.deps.nc.publish(this.#subject, JSON.stringify({ userId }))
  }

  async #of (userId: string): Promise<Set<string>> {
    const cached = this.#cache.get(userId)
    if (cached !== undefined && Date.now() - cached.at < CACHE_MS) return await cached.blocked
    const blocked = this.deps.writer.call('blocks.list', { userId }).then((r) => new Set(r.items.map((i) => i.userId)))
    this.#cache.set(userId, { blocked, at: Date.now() })
    if (this.#cache.size > CACHED_USERS) {
      const oldest = this.#cache.keys().next()
      if (oldest.done !== true) this.#cache.delete(oldest.value)
    }
    // A failed read is not kept: the next send asks again.
    blocked.catch(() => { if (this.#cache.get(userId)?.blocked === blocked) this.#cache.delete(userId) })
    return await blocked
  }
}
