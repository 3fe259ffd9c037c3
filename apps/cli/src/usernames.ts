import type { ChatClient } from '@metadome/client'

const AT_ONCE = 8

/**
 * Adds to `known` the usernames of `ids` it lacks, a few requests at a time.
 * An id whose user cannot be had (deleted, or a failure) stays out: callers
 * show the id instead.
 */
export async function usernames (client: ChatClient, ids: Iterable<string>, known = new Map<string, string>()): Promise<Map<string, string>> {
  const queue = [...new Set(ids)].filter((id) => !known.has(id))
  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        known.set(id, (await client.getUser(id)).username)
      } catch {
        // shown by id
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, queue.length) }, worker))
  return known
}
