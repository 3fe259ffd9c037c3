/** A token bucket: `perSecond` sustained, `burst` at once. Numbers only, so an idle socket costs nothing. */
export class RateLimiter {
  #tokens: number
  #at: number

  constructor (readonly perSecond: number, readonly burst: number, readonly now: () => number = Date.now) {
    this.#tokens = burst
    this.#at = now()
  }

  /** Takes `count` tokens (one frame, or a frame's bytes); false when there are not that many left. */
  take (count = 1): boolean {
    const now = this.now()
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.perSecond / 1000)
    this.#at = now
    if (this.#tokens < count) return false
    this.#tokens -= count
    return true
  }
}
