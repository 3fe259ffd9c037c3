import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import { ChatRpcError, directMembers, SINCE_MAX_LIMIT, type ChatRpcClient, type chatSubjects, type Ref } from '@metadome/contracts'
import type { CatchUpContext, Delivery } from '../ws/delivery.js'
import { itemFromMessage, messageFrame, type LiveItem } from './live-item.js'
import { checkReadable, readStream, type StreamEntry } from './stream-reader.js'

export interface CatchUpDeps {
  js: JetStreamClient
  jsm: JetStreamManager
  writer: ChatRpcClient
  log: FastifyBaseLogger
  /** The CHAT stream's name. */
  stream: string
  subjects: ReturnType<typeof chatSubjects>
  /** The CHAT stream's last seq now. */
  lastSeq: () => Promise<number>
  /** CATCH_UP_STREAM_MAX: the most entries a sync reads from the stream (see checkReadable). */
  streamReadMax: number
}

/** What a catch-up reads of the user: their conversations now, and where their groups start for them. */
export interface MemberView {
  readonly conversations: ReadonlySet<string>
  /** Groups: the seq of the change that added the user (nothing at or below it is theirs). */
  readonly floors?: ReadonlyMap<string, number>
}

/** The socket a catch-up writes to. */
export interface CatchUpTarget {
  readonly userId: string
  readonly delivery: Delivery
  readonly closed: boolean
  send: (frame: { type: 'synced', cursor: number, ref?: Ref }) => void
}

/**
 * The seqs a socket got live in the conversations it follows: a sync skips
 * them. Read when a sync starts; one attempted again (retried.ts) keeps the
 * first attempt's, since what that attempt wrote moved the cursor on.
 */
export interface LiveWindow {
  lo: number
  hi: number
}

export const liveWindow = (conn: CatchUpTarget): LiveWindow => ({ lo: conn.delivery.coveredFrom, hi: conn.delivery.cursor })

/** Writer pages that a catch-up asks for at once. */
const SINCE_PAGE = Math.min(500, SINCE_MAX_LIMIT)

/**
 * `sync`: every message after `after` in the user's conversations, once, in
 * seq order: from the writer up to what it has stored (within the user's
 * membership windows), then from the stream up to its end at the start
 * (from `after` if the writer does not answer), then `synced`. Returns the
 * direct conversations found on the way that the user does not follow yet:
 * a direct conversation's members are in its id. A group found in the
 * writer's answer is one the user was a member of when the message was
 * sent; its history is theirs, its future is not unless a join notice says so.
 */
export async function syncSocket (deps: CatchUpDeps, conn: CatchUpTarget, user: MemberView, after: number, reply: { ref?: Ref } | undefined, ctx: CatchUpContext, gotLive: LiveWindow = liveWindow(conn)): Promise<Set<string>> {
  const { delivery } = conn
  const last = await deps.lastSeq()
  // Messages this socket got live before the sync: not again.
  const known = new Set(user.conversations)
  const { lo, hi } = gotLive
  const discovered = new Set<string>()
  const write = (item: LiveItem): void => {
    if (known.has(item.conversationId) && item.seq > lo && item.seq <= hi) return
    if (!user.conversations.has(item.conversationId) && isDirectMember(item.conversationId, conn.userId)) discovered.add(item.conversationId)
    ctx.write(item)
  }

  // Up to where everything is written; the stream tail follows from there.
  const progress = { through: after }
  try {
    await fromWriter(deps, conn.userId, last, write, ctx, progress)
  } catch (err) {
    if (!(err instanceof ChatRpcError && err.code === 'unavailable')) throw err
    deps.log.warn({ err }, 'message-writer unavailable: catching up from the stream')
  }
  checkReadable(progress.through + 1, last, deps.streamReadMax)
  const prefix = deps.subjects.message('')
  let n = 0
  for await (const e of readStream(deps.js, deps.jsm, deps.stream, { filter: deps.subjects.message('>'), from: progress.through + 1, to: last })) {
    if (conn.closed) return discovered
    const conversationId = e.subject.slice(prefix.length)
    if (!user.conversations.has(conversationId) && !isDirectMember(conversationId, conn.userId)) continue
    if (e.seq <= (user.floors?.get(conversationId) ?? 0)) continue
    const item = itemOf(e, conversationId)
    if (item !== undefined) write(item)
    if (++n % 64 === 0) await ctx.drained()
  }
  ctx.cover(undefined, last)
  delivery.coveredFrom = Math.min(delivery.coveredFrom, after)
  if (reply !== undefined) {
    const cursor = Math.max(last, delivery.cursor)
    conn.send(reply.ref === undefined ? { type: 'synced', cursor } : { type: 'synced', cursor, ref: reply.ref })
  }
  return discovered
}

/** One socket's catch-up on one conversation it just joined, from where its live feed started (or an earlier catch-up stopped). */
export async function catchUpConversation (deps: CatchUpDeps, conn: CatchUpTarget, conversationId: string, floor: number, ctx: CatchUpContext): Promise<void> {
  const last = await deps.lastSeq()
  const from = Math.max(conn.delivery.coveredFrom, ctx.coveredUpTo(conversationId), floor) + 1
  let n = 0
  for await (const e of readStream(deps.js, deps.jsm, deps.stream, { filter: deps.subjects.message(conversationId), from, to: last })) {
    if (conn.closed) return
    const item = itemOf(e, conversationId)
    if (item !== undefined) ctx.write(item)
    if (++n % 64 === 0) await ctx.drained()
  }
  ctx.cover(conversationId, last)
}

/** Pages messages.since up to `last`, advancing `progress.through` as it writes. */
async function fromWriter (deps: CatchUpDeps, userId: string, last: number, write: (item: LiveItem) => void, ctx: CatchUpContext, progress: { through: number }): Promise<void> {
  for (;;) {
    const page = await deps.writer.call('messages.since', { userId, after: progress.through, limit: SINCE_PAGE })
    for (const message of page.items) {
      if (message.seq > last) {
        progress.through = last
        return
      }
      write(itemFromMessage(message))
      progress.through = message.seq
    }
    await ctx.drained()
    if (!page.hasMore) {
      progress.through = Math.min(Math.max(progress.through, page.storedThrough), last)
      return
    }
  }
}

function itemOf (e: StreamEntry, conversationId: string): LiveItem | undefined {
  const frame = messageFrame(e.seq, e.data)
  return frame === undefined ? undefined : { seq: e.seq, conversationId, id: e.msgId, frame }
}

export function isDirectMember (conversationId: string, userId: string): boolean {
  return directMembers(conversationId)?.includes(userId) ?? false
}
