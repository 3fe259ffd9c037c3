/** At most `slots` tasks at once; the others wait in order. */
export class Semaphore {
  #free: number
  readonly #waiting: Array<() => void> = []

  constructor (slots: number) {
    this.#free = slots
  }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) {
      this.#free--
    } else {
      await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    }
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#free++
    }
  }
}
