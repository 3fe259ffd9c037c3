export interface CoalescedOptions {
  /**
   * Calls start at least this far apart: whoever asks sooner waits for the
   * next call. At a few hundred connects a second most callers found no call
   * running and each started one of their own (measured: 0.85 stream info
   * requests per connect), so a storm is only shared if calls are spaced.
   * A caller who finds none in the last `spacingMs` is answered at once.
   */
  spacingMs?: number
}

/**
 * One call of `fn` shared by everyone who asks while it runs, where each
 * caller must get an answer from a call that started after it asked (a
 * stream's last seq read after the caller subscribed; a flush after its
 * subscriptions were written). Whoever asks while a call runs waits for the
 * next one, which starts when the running one ends and answers all of them:
 * at most one runs at a time however many ask. A reconnect storm asked the
 * stream for its last seq twice per socket, one request and one write each.
 */
export function coalesced<T> (fn: () => Promise<T>, { spacingMs = 0 }: CoalescedOptions = {}): () => Promise<T> {
  let running: Promise<T> | undefined
  let queued: Promise<T> | undefined
  let startedAt = Number.NEGATIVE_INFINITY
  const start = (): Promise<T> => {
    startedAt = performance.now()
    const call = fn()
    running = call
    const clear = (): void => { if (running === call) running = undefined }
    call.then(clear, clear)
    return call
  }
  const spaced = async (): Promise<void> => {
    const wait = startedAt + spacingMs - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
  return async () => {
    if (running === undefined && queued === undefined && performance.now() - startedAt >= spacingMs) return await start()
    queued ??= (running ?? Promise.resolve()).then(() => {}, () => {}).then(spaced).then(() => {
      queued = undefined
      return start()
    })
    return await queued
  }
}
