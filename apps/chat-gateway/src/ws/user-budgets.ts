import { RateLimiter } from './rate-limiter.js'

/**
 * The bytes per second each user may send over all their sockets on this
 * gateway together (WS_USER_BYTES_PER_SECOND), beside each socket's own
 * limit: twenty sockets of one user cannot send twenty sockets' worth.
 *
 * A user's bucket outlives their sockets until it has refilled, so closing
 * and reopening sockets does not hand out a fresh budget; a sweep forgets
 * the full ones, so idle users cost nothing.
 */
export class UserBudgets {
  readonly #buckets = new Map<string, RateLimiter>()
  readonly #sweep: NodeJS.Timeout

  constructor (readonly perSecond: number, readonly burst: number, readonly now: () => number = Date.now, sweepMs = 10_000) {
    this.#sweep = setInterval(() => { this.sweep() }, sweepMs)
    this.#sweep.unref()
  }

  /**
   * The bucket a socket of `userId` takes its bytes from. Look it up for each
   * frame rather than keep it: a forgotten bucket held by a socket would be
   * a second budget beside the one the next socket gets.
   */
  of (userId: string): RateLimiter {
    let bucket = this.#buckets.get(userId)
    if (bucket === undefined) {
      bucket = new RateLimiter(this.perSecond, this.burst, this.now)
      this.#buckets.set(userId, bucket)
    }
    return bucket
  }

  get size (): number {
    return this.#buckets.size
  }

  close (): void {
    clearInterval(this.#sweep)
  }

  /** Forgets the buckets that have refilled (every sweepMs). */
  sweep (): void {
    for (const [userId, bucket] of this.#buckets) if (bucket.full()) this.#buckets.delete(userId)
  }
}
