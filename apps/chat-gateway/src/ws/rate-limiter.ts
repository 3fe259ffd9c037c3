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
    this.#refill()
    if (this.#tokens < count) return false
    this.#tokens -= count
    return true
  }

  /** Refilled to its burst: the same as a fresh one, so it may be forgotten. */
  full (): boolean {
    this.#refill()
    return this.#tokens >= this.burst
  }

  #refill (): void {
    const now = this.now()
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.perSecond / 1000)
    this.#at = now
  }
}

/** A byte budget's burst: two of the largest frames, so one frame at full size always fits. */
export const byteBurst = (bytesPerSecond: number, maxPayloadBytes: number): number => Math.max(bytesPerSecond, 2 * maxPayloadBytes)
