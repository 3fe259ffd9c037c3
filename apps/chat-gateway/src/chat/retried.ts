import { CloseCode } from '@metadome/contracts'
import type { CatchUpContext } from '../ws/delivery.js'

/** The pauses between attempts of a catch-up no client asked for: about 15 s in all, a NATS leader election and then some. */
export const CATCH_UP_RETRY_DELAYS_MS = [250, 500, 1_000, 2_000, 4_000, 8_000]

/** Where the attempts are told (the gateway's logger). */
export interface RetryLog {
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/** The socket a retried catch-up belongs to. */
export interface RetriedTarget {
  readonly id: string
  readonly closed: boolean
  close: (code: number, reason: string) => void
}

/**
 * A catch-up that no client asked for (a conversation joined while
 * connected, a resume after the gateway's NATS connection came back) has no
 * client to answer `unavailable` to, and a client that is not told does not
 * sync again: a failure that was only logged left that socket with a gap for
 * good. So it runs again here (each attempt writes only what the ones before
 * did not), and past the last attempt the socket is closed
 * with 1013 before the live messages held meanwhile are written: the
 * client's cursor stays below what a resume missed, and its next sync brings
 * it. (A joined conversation's messages older than that cursor are then left
 * to history: the error log says so.)
 */
export function retried (
  conn: RetriedTarget,
  log: RetryLog,
  what: string,
  job: (ctx: CatchUpContext) => Promise<void>,
  delaysMs: readonly number[] = CATCH_UP_RETRY_DELAYS_MS
): (ctx: CatchUpContext) => Promise<void> {
  return async (ctx) => {
    // What earlier attempts wrote, by conversation: a job writes each of its
    // conversations in seq order, so an attempt again skips up to there.
    const written = new Map<string, number>()
    const again: CatchUpContext = {
      ...ctx,
      write: (item) => {
        if (item.seq <= (written.get(item.conversationId) ?? -1)) return
        written.set(item.conversationId, item.seq)
        ctx.write(item)
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await job(again)
        return
      } catch (err) {
        if (conn.closed) return
        const delay = delaysMs[attempt]
        if (delay === undefined) {
          log.error({ err, connectionId: conn.id, attempts: attempt + 1 }, `${what} failed; closing the socket so that its client syncs again`)
          conn.close(CloseCode.tryAgainLater, 'cannot catch up now, reconnect')
          return
        }
        log.warn({ err, connectionId: conn.id, attempt: attempt + 1 }, `${what} failed; trying again`)
        await new Promise((resolve) => setTimeout(resolve, delay))
        if (conn.closed) return
      }
    }
  }
}
