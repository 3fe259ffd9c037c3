/**
 * Group creations and additions this replica authorized, by actor, for a
 * while after: the gateway publishes an authorized change and the writer
 * stores it later, and until then the hourly limits must still count it.
 * An entry outlives any publish (the gateway gives up within seconds), so
 * keeping it two minutes only means a change is counted from here until the
 * stored events hold it.
 */
export class AuthorizedChanges {
  readonly #byActor = new Map<string, Map<string, { kind: string, at: number }>>()

  constructor (private readonly keepMs = 2 * 60 * 1000, private readonly now: () => number = Date.now) {}

  add (actorId: string, kind: string, eventId: string): void {
    this.#prune()
    const own = this.#byActor.get(actorId) ?? new Map<string, { kind: string, at: number }>()
    own.set(eventId, { kind, at: this.now() })
    this.#byActor.set(actorId, own)
  }

  /** The event ids of `kind` authorized for `actorId` within the last keepMs. */
  of (actorId: string, kind: string): string[] {
    this.#prune()
    return [...(this.#byActor.get(actorId) ?? new Map<string, { kind: string }>())].filter(([, e]) => e.kind === kind).map(([id]) => id)
  }

  #prune (): void {
    const oldest = this.now() - this.keepMs
    for (const [actor, own] of this.#byActor) {
      for (const [id, e] of own) if (e.at < oldest) own.delete(id)
      if (own.size === 0) this.#byActor.delete(actor)
    }
  }
}
