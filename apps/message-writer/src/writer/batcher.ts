export interface BatcherOptions<T> {
  /** A batch is written as soon as it holds this many items... */
  maxSize: number
  /** ...or this long after its first item arrived, whichever comes first. */
  maxWaitMs: number
  /** Batches being written at once; `add` waits while this many are. */
  maxInFlight: number
  /** Writes a batch; must settle every item itself and never reject. */
  write: (items: T[]) => Promise<void>
}

/**
 * Groups items into batches bounded by count and by time, and writes up to
 * `maxInFlight` of them concurrently. `add` applies back-pressure: the
 * consume loop awaits it, so it stops taking messages while the database is
 * busy instead of buffering without bound.
 */
export class Batcher<T> {
  private items: T[] = []
  private timer: NodeJS.Timeout | undefined
  private readonly inFlight = new Set<Promise<void>>()

  constructor (private readonly opts: BatcherOptions<T>) {}

  async add (item: T): Promise<void> {
    this.items.push(item)
    if (this.items.length >= this.opts.maxSize) {
      this.flush()
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => { this.flush() }, this.opts.maxWaitMs)
    }
    while (this.inFlight.size >= this.opts.maxInFlight) await Promise.race(this.inFlight)
  }

  /** Writes what is pending now and waits for every batch in flight. */
  async drain (): Promise<void> {
    this.flush()
    await Promise.all(this.inFlight)
  }

  private flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.items.length === 0) return
    const batch = this.items
    this.items = []
    const p: Promise<void> = this.opts.write(batch).finally(() => { this.inFlight.delete(p) })
    this.inFlight.add(p)
  }
}
