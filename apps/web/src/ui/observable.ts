import { useEffect, useState } from 'preact/hooks'

// The smallest store that fits: a model changes its own fields and calls
// changed(); components that use it re-render. Changes in one tick are
// rendered once.

export class Observable {
  readonly #listeners = new Set<() => void>()
  #scheduled = false
  version = 0

  subscribe (listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  changed (): void {
    this.version++
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      for (const l of [...this.#listeners]) l()
    })
  }
}

/** Re-renders the calling component whenever `model` changes. */
export function useModel<T extends Observable> (model: T): T {
  const [, setVersion] = useState(0)
  useEffect(() => model.subscribe(() => { setVersion(model.version) }), [model])
  return model
}
