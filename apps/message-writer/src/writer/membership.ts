import type { Kysely } from 'kysely'
import type { JetStreamManager, MsgRequest, NextMsgRequest } from '@nats-io/jetstream'
import type { Namespace } from '@metadome/nats'
import { chatSubjects } from '@metadome/contracts'
import type { ChatDatabase } from '../db/database.js'
import { membershipAt, type GroupMessageToCheck } from '../db/group.repository.js'

/** What becomes of a group message: stored, nak'ed to wait for an earlier event of its group, or refused. */
export type Verdict = 'member' | 'wait' | 'not_a_member' | 'no_such_group'

/** The seq of the first CHAT entry on the group's event subject at or after `seq`, or undefined when there is none. */
export type NextGroupEvent = (conversationId: string, seq: number) => Promise<number | undefined>

export function nextGroupEventReader (jsm: JetStreamManager, stream: string, ns: Namespace): NextGroupEvent {
  const subjects = chatSubjects(ns)
  return async function nextGroupEvent (conversationId, seq) {
    // STREAM.MSG.GET with next_by_subj: the first entry on the subject at or
    // after seq, and the server's "no message found" (which the client turns
    // into null) when there is none; tried against nats-server 2.9.10. The
    // client types next_by_subj for direct gets only, which CHAT does not
    // allow, but passes the request through as it is.
    const request: NextMsgRequest = { next_by_subj: subjects.conversationEvent(conversationId), seq }
    const m = await jsm.streams.getMessage(stream, request as unknown as MsgRequest)
    return m === null ? undefined : m.seq
  }
}

/**
 * Whether each group message's sender was a member of its group at the
 * message's seq S, decided only when the answer can no longer change.
 *
 * Membership at S is the result of the group's events below S, and events
 * are applied one transaction each, by whichever batch of whichever replica
 * holds them: when a message is checked, an earlier event of its group may
 * still be on its way (another batch, a lock, a nak). So the check reads,
 * in one statement, the sender's windows (member_periods, every window ever,
 * because chat.members is overwritten when a member comes back) and A, the
 * highest seq of the group's event subject that is settled (applied, or
 * dead-lettered and recorded as such). Then it asks the stream for the
 * group's first event after A. If there is one below S, the state is not
 * final for S and the message waits (nak with backoff) until that event is
 * applied or dead-lettered; otherwise the verdict is definitive.
 *
 * The database is read before the stream: every entry below S was in the
 * stream before S was delivered, so the lookup cannot miss one, and an event
 * settled in between only makes the message wait once more. This relies on
 * a group's events settling in seq order, which gateways ensure (each change
 * is compare-and-set on the subject's last seq, published only once the
 * writer stored that one); events published out of order behind their back
 * could leave one pending below A.
 *
 * Cost per batch that holds group messages: one statement, and one stream
 * lookup per group (in parallel), none when A is past the group's messages.
 */
export async function membershipVerdicts (
  db: Kysely<ChatDatabase>,
  nextGroupEvent: NextGroupEvent,
  messages: GroupMessageToCheck[]
): Promise<Map<number, Verdict>> {
  const rows = await membershipAt(db, messages)
  const groups = new Map<string, { settledSeq: number, lastSeq: number }>()
  for (const r of rows) {
    const g = groups.get(r.conversationId)
    if (g === undefined) groups.set(r.conversationId, { settledSeq: r.settledSeq, lastSeq: r.seq })
    else g.lastSeq = Math.max(g.lastSeq, r.seq)
  }
  const pending = new Map<string, number>()
  await Promise.all([...groups].map(async ([id, g]) => {
    if (g.settledSeq >= g.lastSeq) return
    const next = await nextGroupEvent(id, g.settledSeq + 1)
    if (next !== undefined) pending.set(id, next)
  }))

  const verdicts = new Map<number, Verdict>()
  for (const r of rows) {
    const next = pending.get(r.conversationId)
    if (next !== undefined && next < r.seq) verdicts.set(r.seq, 'wait')
    else if (r.member) verdicts.set(r.seq, 'member')
    else verdicts.set(r.seq, r.found ? 'not_a_member' : 'no_such_group')
  }
  return verdicts
}
