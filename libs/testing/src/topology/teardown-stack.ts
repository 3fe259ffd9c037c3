import type { Teardown } from '../teardown.js'

export interface TeardownStack extends Teardown {
  /**
   * Runs what was registered, last first (as tap does), each to its end even
   * when an earlier one failed; the first error is thrown afterwards. Calling
   * it again returns the same run.
   */
  run: () => Promise<void>
}

/** A Teardown outside tap: for scripts (`npm run cluster`, a chaos runner) that use the topology helpers. */
export function createTeardown (): TeardownStack {
  const fns: Array<() => unknown> = []
  let running: Promise<void> | undefined
  return {
    teardown: (fn) => { fns.push(fn) },
    run: async () => {
      running ??= (async () => {
        let first: unknown
        for (let fn = fns.pop(); fn !== undefined; fn = fns.pop()) {
          try {
            await fn()
          } catch (err) {
            first ??= err
          }
        }
        if (first !== undefined) throw first
      })()
      await running
    }
  }
}
