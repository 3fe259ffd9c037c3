/** A token bucket: `perSecond` sustained, `burst` at once. Numbers only, so an idle socket costs nothing. */
export class RateLimiter {
  #tokens: number
  #at: number

  constructor (readonly perSecond: number, readonly burst: number, readonly now: () => number = Date.now) {
    this.#tokens = burst
    this.#at = now()
  }

  /** Takes one token; false when there is none left. */
  take (): boolean {
    const now = this.now()
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.perSecond / 1000)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
