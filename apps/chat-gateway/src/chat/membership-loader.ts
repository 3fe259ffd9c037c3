import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import { Compile } from 'typebox/compile'
import { ChatRpcError, ConversationEvent, directMembers, type ChatRpcClient, type chatSubjects } from '@metadome/contracts'
import { checkReadable, readStream } from './stream-reader.js'
import type { MembershipsPage } from './membership-batches.js'

const isDirect = (conversationId: string): boolean => directMembers(conversationId) !== undefined

export interface MembershipDeps {
  js: JetStreamClient
  jsm: JetStreamManager
  writer: ChatRpcClient
  log: FastifyBaseLogger
  /** The CHAT stream's name. */
  stream: string
  subjects: ReturnType<typeof chatSubjects>
  /** CATCH_UP_STREAM_MAX: the most entries a connect reads from the stream (see checkReadable). */
  streamReadMax: number
  /** The writer's storedThrough, read after the call (shared by everyone connecting at once: see coalesced). */
  storedThrough: () => Promise<number>
  /** The first page of conversations.memberships, asked after the call (shared likewise: see MembershipBatches). */
  firstPage: (userId: string) => Promise<MembershipsPage>
}

/** A user's conversations now, and for groups the seq from which they see messages. */
export interface Memberships {
  conversations: Set<string>
  /** Groups: the seq of the change that added the user (nothing at or below it is theirs). */
  floors: Map<string, number>
}

const isConversationEvent = Compile(ConversationEvent)

/** Whether a group change adds `userId` (creates the group with them, or adds them). */
export function joins (event: ConversationEvent, userId: string): boolean {
  return (event.type === 'created' && event.members.some((m) => m.userId === userId)) || (event.type === 'member_added' && event.userId === userId)
}

/**
 * The conversations of a user who connects. The writer knows those it
 * stored (through storedThrough, read first); above that, direct
 * conversations are found by scanning the stream's subjects, and group
 * changes the writer has not stored yet say who is a member now (each
 * carries the group after it). Without a writer, the stream from its start,
 * if it is short enough (checkReadable); otherwise the socket tries again.
 */
export async function loadMemberships (deps: MembershipDeps, userId: string, lastSeq: () => Promise<number>): Promise<Memberships> {
  const conversations = new Set<string>()
  const floors = new Map<string, number>()
  let from = 1
  try {
    const storedThrough = await deps.storedThrough()
    // Page by page, by id (a stable order): one reply stays small however
    // many conversations a user is in, and none is missed between pages.
    let afterId: string | undefined
    do {
      const page = afterId === undefined ? await deps.firstPage(userId) : await deps.writer.call('conversations.memberships', { userId, afterId })
      for (const m of page.items) {
        conversations.add(m.conversationId)
        // Nothing of a group from before the user joined, even from the stream while the writer is down.
        if (!isDirect(m.conversationId)) floors.set(m.conversationId, m.joinedSeq)
      }
      afterId = page.nextAfterId
    } while (afterId !== undefined)
    from = storedThrough + 1
  } catch (err) {
    if (!(err instanceof ChatRpcError && err.code === 'unavailable')) throw err
    deps.log.warn({ err }, 'message-writer unavailable: finding conversations in the stream')
  }
  const to = await lastSeq()
  checkReadable(from, to, deps.streamReadMax)
  const messagePrefix = deps.subjects.message('')
  for await (const e of readStream(deps.js, deps.jsm, deps.stream, { filter: deps.subjects.message('>'), from, to, headersOnly: true })) {
    const conversationId = e.subject.slice(messagePrefix.length)
    if (directMembers(conversationId)?.includes(userId) === true) conversations.add(conversationId)
  }
  for await (const e of readStream(deps.js, deps.jsm, deps.stream, { filter: deps.subjects.conversationEvent('>'), from, to })) {
    let event: unknown
    try {
      event = JSON.parse(e.data)
    } catch {
      continue
    }
    if (!isConversationEvent.Check(event) || event.conversation === undefined) continue
    if (!event.conversation.members.includes(userId)) {
      conversations.delete(event.conversationId)
      floors.delete(event.conversationId)
    } else if (!conversations.has(event.conversationId) || joins(event, userId)) {
      // Joined by this change: the user gets messages after it only.
      conversations.add(event.conversationId)
      floors.set(event.conversationId, e.seq)
    }
  }
  return { conversations, floors }
}
