// Replay protection (DESIGN.md: the receiver checks "that (device, message id)
// is new"). The store is pluggable so that a client can keep it across
// restarts (a file, IndexedDB); the default lives in memory, per receiving
// device. It is only asked once a message has passed every cryptographic
// check, so what it records is genuine.

export interface ReplayKey {
  senderUserId: string
  senderDeviceId: string
  messageId: string
}

export interface ReplayStore {
  /**
   * Records the key and answers true, or answers false if it was recorded
   * before. Must be atomic for concurrent calls with the same key.
   */
  claim: (key: ReplayKey) => boolean | Promise<boolean>
}

export class MemoryReplayStore implements ReplayStore {
  readonly #seen = new Set<string>()
  readonly #maxEntries: number

  /**
   * `maxEntries` bounds memory by forgetting the oldest keys first; a message
   * older than that window can then be replayed, so keep it far above the
   * number of messages one process opens (unbounded by default).
   */
  constructor (options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? Infinity
  }

  claim (key: ReplayKey): boolean {
    const k = JSON.stringify([key.senderUserId, key.senderDeviceId, key.messageId])
    if (this.#seen.has(k)) return false
    this.#seen.add(k)
    if (this.#seen.size > this.#maxEntries) {
      const oldest = this.#seen.values().next()
      if (oldest.done !== true) this.#seen.delete(oldest.value)
    }
    return true
  }

  get size (): number {
    return this.#seen.size
  }
}
