import type { ChatClient, TextEvent } from '@metadome/client'

/** The texts a client handed to its user, in order. */
export interface Inbox {
  texts: TextEvent[]
  /** Resolves once `n` texts arrived. */
  waitFor: (n: number) => Promise<TextEvent[]>
}

/** Collects what a ChatClient (the other side of a CLI conversation) receives. */
export function inboxOf (client: ChatClient): Inbox {
  const texts: TextEvent[] = []
  const waiters: Array<() => void> = []
  client.on('text', (e) => {
    texts.push(e)
    for (const w of waiters.splice(0)) w()
  })
  return {
    texts,
    waitFor: async (n) => {
      while (texts.length < n) await new Promise<void>((resolve) => { waiters.push(resolve) })
      return texts.slice(0, n)
    }
  }
}
