/** At most `limit` holders at once; the rest wait in arrival order. */
export class Semaphore {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor (readonly limit: number) {}

  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.active++
    try {
      return await fn()
    } finally {
      // Hand the slot straight to the next waiter (active stays the same).
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.active--
    }
  }
}
