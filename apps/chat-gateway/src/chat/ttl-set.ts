/**
 * Keys remembered for a while, at most `max` of them (the oldest go first):
 * a bounded cache of facts that are cheap to ask again.
 */
export class TtlSet {
  readonly #expiry = new Map<string, number>()

  constructor (readonly ttlMs: number, readonly max: number, readonly now: () => number = Date.now) {}

  has (key: string): boolean {
    const expiresAt = this.#expiry.get(key)
    if (expiresAt === undefined) return false
    if (expiresAt > this.now()) return true
    this.#expiry.delete(key)
    return false
  }

  add (key: string): void {
    this.#expiry.delete(key)
    this.#expiry.set(key, this.now() + this.ttlMs)
    if (this.#expiry.size > this.max) {
      const oldest = this.#expiry.keys().next()
      if (oldest.done !== true) this.#expiry.delete(oldest.value)
    }
  }

  delete (key: string): void {
    this.#expiry.delete(key)
  }
}
