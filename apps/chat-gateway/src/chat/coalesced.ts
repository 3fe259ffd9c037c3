/**
 * One call of `fn` shared by everyone who asks while it runs, where each
 * caller must get an answer from a call that started after it asked (a
 * stream's last seq read after the caller subscribed; a flush after its
 * subscriptions were written). Whoever asks while a call runs waits for the
 * next one, which starts when the running one ends and answers all of them:
 * at most one runs at a time however many ask. A reconnect storm asked the
 * stream for its last seq twice per socket, one request and one write each.
 */
export function coalesced<T> (fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined
  let queued: Promise<T> | undefined
  const start = (): Promise<T> => {
    const call = fn()
    running = call
    const clear = (): void => { if (running === call) running = undefined }
    call.then(clear, clear)
    return call
  }
  return async () => {
    if (running === undefined) return await start()
    queued ??= running.then(() => {}, () => {}).then(() => {
      queued = undefined
      return start()
    })
    return await queued
  }
}
