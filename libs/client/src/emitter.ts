// A small typed event emitter: node:events is not in browsers, and EventTarget
// would lose the payload types. A listener that throws does not stop the
// others, and an unhandled 'error' never crashes the process (unlike
// node:events): the SDK runs inside apps it does not own.

type Listener<T> = (payload: T) => void

export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>()

  on<K extends keyof Events> (event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener as Listener<never>)
    return () => { this.off(event, listener) }
  }

  once<K extends keyof Events> (event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off()
      listener(payload)
    })
    return off
  }

  off<K extends keyof Events> (event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>)
  }

  protected emit<K extends keyof Events> (event: K, payload: Events[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(payload)
      } catch (err) {
        // A listener's bug is the app's; report it without breaking delivery.
        if (event !== 'error') this.emit('error' as K, err as Events[K])
      }
    }
  }

  protected removeAllListeners (): void {
    this.#listeners.clear()
  }
}
