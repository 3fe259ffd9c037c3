import { EventEmitter } from 'node:events'
import type { Kysely } from 'kysely'
import type { Consumer, JsMsg } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import type { Namespace } from '@metadome/nats'
import type { ChatDatabase } from '../db/database.js'
import { insertMessages, messageExists, storedMessageIds } from '../db/message.repository.js'
import { ensureDirectConversations, type NewDirectConversation } from '../db/conversation.repository.js'
import { chatDecoder, type ChatMessage, type Poison } from './decode-chat.js'
import { ConsumeLoop, retryDelayMs } from './consume-loop.js'
import type { DeadLetterPublisher } from './dead-letter.js'
import type { WriterMetrics } from './metrics.js'
import { classifyDbError } from './db-errors.js'
import { groupEventDecoder } from './decode-group-event.js'
import { GroupRefusal, nextState } from './group-state.js'
import { eventApplied, loadGroup, recordDeadLetteredEvent, storeGroupEvent } from '../db/group.repository.js'
import { membershipVerdicts, type NextGroupEvent, type Verdict } from './membership.js'
import type { ConversationEvent } from '@metadome/contracts'
import { failpoint } from '@metadome/service'

export interface ChatWriterOptions {
  db: Kysely<ChatDatabase>
  consumer: Consumer
  ns: Namespace
  deadLetter: DeadLetterPublisher
  metrics: WriterMetrics
  log: FastifyBaseLogger
  batchSize: number
  batchWaitMs: number
  batchesInFlight: number
  /** GROUP_MAX_MEMBERS: an event that would make a group larger is refused. */
  groupMaxMembers: number
  /** Finds a group's events in CHAT, so that a message waits for those not applied yet (membership.ts). */
  nextGroupEvent: NextGroupEvent
}

/** What one batch did; emitted as `batch` once every message of it is settled. */
export interface BatchReport {
  messages: number
  /** Rows inserted. */
  stored: number
  /** Already stored (a redelivery or a resend), acked without a row. */
  duplicates: number
  deadLettered: number
  /** Nak'ed, to be delivered again later. */
  retried: number
  durationMs: number
  /** now - sentAt at the commit, per inserted message. */
  lagsMs: number[]
}

/** A refused membership event is retried this many deliveries before it is dead-lettered (an earlier change may still be committing). */
const REFUSED_EVENT_DELIVERIES = 5
/** Direct conversation ids a process remembers as existing; past this it forgets them all and asks again. */
const KNOWN_CONVERSATIONS_MAX = 100_000

interface Entry { msg: JsMsg, message: ChatMessage }
interface EventEntry { msg: JsMsg, event: ConversationEvent, seq: number }

const bySeq = (a: Entry, b: Entry): number => a.message.seq - b.message.seq

/**
 * The CHAT side of message-writer. A batch's membership events are applied
 * first, one transaction each. Its group messages are then admitted only if
 * their sender was a member at their seq (membership.ts: one query and one
 * stream lookup per group, waiting for earlier events not applied yet).
 * Then the messages are one transaction: direct conversations and their
 * members are created with their first message, and messages are inserted
 * with ON CONFLICT (id) DO NOTHING (a redelivery, or another replica holding
 * the same message, changes nothing); every message is acked only after the
 * commit. A database outage naks the batch with backoff. An entry that can
 * never be stored is dead-lettered (published with its reason, then
 * terminated), never dropped. Every path settles every message: nothing
 * waits for ack_wait but a crash.
 */
export class ChatWriter extends EventEmitter<{ batch: [BatchReport] }> {
  private readonly loop: ConsumeLoop
  private readonly decode: ReturnType<typeof chatDecoder>
  private readonly events: ReturnType<typeof groupEventDecoder>
  /** Direct conversations known to exist, so most batches skip creating them. */
  private readonly known = new Set<string>()

  constructor (private readonly opts: ChatWriterOptions) {
    super()
    this.decode = chatDecoder(opts.ns)
    this.events = groupEventDecoder(opts.ns)
    this.loop = new ConsumeLoop({
      consumer: opts.consumer,
      maxSize: opts.batchSize,
      maxWaitMs: opts.batchWaitMs,
      batchesInFlight: opts.batchesInFlight,
      log: opts.log,
      write: async (batch) => { await this.write(batch) }
    })
  }

  start (): void { this.loop.start() }

  /** Stops pulling, finishes the batches in flight (committed and acked), then resolves. */
  async close (): Promise<void> { await this.loop.close() }

  private async write (batch: JsMsg[]): Promise<void> {
    const started = performance.now()
    const report: BatchReport = { messages: batch.length, stored: 0, duplicates: 0, deadLettered: 0, retried: 0, durationMs: 0, lagsMs: [] }
    const valid: Entry[] = []
    const events: EventEntry[] = []
    for (const msg of batch) {
      if (msg.subject.startsWith(this.events.prefix)) {
        const e = this.events.decode(msg.subject, msg.data)
        if (e.ok) events.push({ msg, event: e.event, seq: msg.info.streamSequence })
        else await this.deadLetterEvent(msg, e.poison, report)
        continue
      }
      const d = this.decode(msg.subject, msg.data, msg.info.streamSequence)
      if (d.ok) valid.push({ msg, message: d.message })
      else await this.deadLetter(msg, d.poison, report)
    }
    // Events first: the batch's messages are checked against the state after
    // them, rather than waiting for them.
    for (const e of events.sort((a, b) => a.seq - b.seq)) await this.applyEvent(e, report)
    await this.store(valid, report)

    report.durationMs = performance.now() - started
    const m = this.opts.metrics
    m.batchSize.observe({ stream: 'chat' }, batch.length)
    m.batchDuration.observe({ stream: 'chat' }, report.durationMs / 1000)
    m.rowsWritten.inc({ table: 'messages' }, report.stored)
    for (const [outcome, n] of [['stored', report.stored], ['duplicate', report.duplicates], ['dead_letter', report.deadLettered], ['retry', report.retried]] as const) {
      if (n > 0) m.messages.inc({ stream: 'chat', outcome }, n)
    }
    for (const lag of report.lagsMs) m.ackToRowLag.observe(lag / 1000)
    this.emit('batch', report)
  }

  /** Stores the valid entries of a batch whose senders may send there. */
  private async store (entries: Entry[], report: BatchReport): Promise<void> {
    await this.insert(await this.admit(entries, report), report)
  }

  /**
   * The entries that may be stored: direct ones (checked by the decoder) and
   * group ones whose sender was a member at their seq. Settles the others: a
   * message whose group has an earlier event not applied yet waits (nak); a
   * refused one is dead-lettered, unless its id is stored already (a
   * redelivery of a message stored before its window was recorded), which is
   * acked as a duplicate.
   */
  private async admit (entries: Entry[], report: BatchReport): Promise<Entry[]> {
    const group = entries.filter((e) => e.message.direct === undefined)
    if (group.length === 0) return entries
    let verdicts: Map<number, Verdict>
    try {
      verdicts = await membershipVerdicts(this.opts.db, this.opts.nextGroupEvent, group.map((e) => e.message))
    } catch (err) {
      this.opts.log.error({ err, messages: group.length }, 'could not check the senders of group messages; they will be delivered again')
      this.opts.metrics.writeErrors.inc({ stream: 'chat' })
      for (const e of group) this.retry(e.msg, report)
      return entries.filter((e) => e.message.direct !== undefined)
    }
    const admitted: Entry[] = []
    const refused: Array<{ entry: Entry, verdict: Verdict }> = []
    for (const e of entries) {
      // Every group message has a verdict; were one missing, waiting is the safe reading.
      const verdict = e.message.direct === undefined ? verdicts.get(e.message.seq) ?? 'wait' : 'member'
      if (verdict === 'member') admitted.push(e)
      else if (verdict === 'wait') this.retry(e.msg, report)
      else refused.push({ entry: e, verdict })
    }
    if (refused.length === 0) return admitted

    let stored: Set<string>
    try {
      stored = await storedMessageIds(this.opts.db, refused.map((r) => r.entry.message.id))
    } catch (err) {
      this.opts.log.error({ err, messages: refused.length }, 'could not check whether refused messages are stored; they will be delivered again')
      this.opts.metrics.writeErrors.inc({ stream: 'chat' })
      for (const r of refused) this.retry(r.entry.msg, report)
      return admitted
    }
    for (const { entry: { msg, message: m }, verdict } of refused) {
      if (stored.has(m.id)) {
        msg.ack()
        report.duplicates++
      } else if (verdict === 'no_such_group') {
        await this.deadLetter(msg, { category: 'unknown_conversation', reason: `conversation ${m.conversationId} does not exist` }, report)
      } else {
        await this.deadLetter(msg, { category: 'not_a_member', reason: `sender ${m.senderId} was not a member of ${m.conversationId} at seq ${m.seq}` }, report)
      }
    }
    return admitted
  }

  /**
   * Stores entries in one transaction. If PostgreSQL rejects the data itself
   * rather than failing as a service, stores them one at a time so that only
   * the offending entry is dead-lettered.
   */
  private async insert (entries: Entry[], report: BatchReport): Promise<void> {
    if (entries.length === 0) return
    // The same id twice in one batch (a resend after the duplicate window):
    // the lowest seq is stored, the others are acked as duplicates.
    const first = new Map<string, Entry>()
    const repeats: Entry[] = []
    for (const e of [...entries].sort(bySeq)) {
      if (first.has(e.message.id)) repeats.push(e)
      else first.set(e.message.id, e)
    }
    const unique = [...first.values()]
    let result: { insertedSeqs: number[] }
    try {
      failpoint('writer.before-commit')
      result = await this.transaction(unique)
    } catch (err) {
      await this.failed(entries, unique, err, report)
      return
    }
    // A crash here leaves the batch stored and unacked: it comes again, and
    // ON CONFLICT DO NOTHING makes the second time a no-op.
    failpoint('writer.after-commit')

    const now = Date.now()
    const inserted = new Set(result.insertedSeqs)
    for (const e of unique) {
      e.msg.ack()
      if (inserted.has(e.message.seq)) {
        report.stored++
        report.lagsMs.push(now - e.message.sentAtMs)
      } else {
        report.duplicates++
      }
      if (e.message.direct !== undefined) this.remember(e.message.conversationId)
    }
    for (const e of repeats) {
      e.msg.ack()
      report.duplicates++
    }
  }

  private async failed (entries: Entry[], unique: Entry[], err: unknown, report: BatchReport): Promise<void> {
    const kind = classifyDbError(err)
    if (kind === 'data' && entries.length > 1) {
      this.opts.log.warn({ err, messages: entries.length }, 'the database rejected a batch; storing its messages one at a time')
      for (const e of [...entries].sort(bySeq)) await this.insert([e], report)
      return
    }
    const [only] = unique
    if (kind === 'data' && only !== undefined) {
      // A unique violation can also be a race with another replica storing
      // the same message: then it is simply stored.
      let exists = false
      try {
        exists = await messageExists(this.opts.db, only.message.id)
      } catch {
        this.retry(only.msg, report)
        return
      }
      if (exists) {
        only.msg.ack()
        report.duplicates++
        return
      }
      const reason = `rejected by the database: ${err instanceof Error ? err.message : String(err)}`
      await this.deadLetter(only.msg, { category: 'unstorable', reason }, report)
      return
    }
    this.opts.log.error({ err, messages: entries.length }, 'could not write a batch; it will be delivered again')
    this.opts.metrics.writeErrors.inc({ stream: 'chat' })
    for (const e of entries) this.retry(e.msg, report)
  }

  /**
   * One transaction; run again at once (up to three times) when PostgreSQL
   * aborted it for a deadlock or a serialization failure. Group messages
   * reach it admitted, so their group exists.
   */
  private async transaction (entries: Entry[]): Promise<{ insertedSeqs: number[] }> {
    for (let attempt = 1; ; attempt++) {
      const direct = new Map<string, NewDirectConversation>()
      for (const { message: m } of entries) {
        if (m.direct === undefined || this.known.has(m.conversationId) || direct.has(m.conversationId)) continue
        direct.set(m.conversationId, { id: m.conversationId, createdAt: m.sentAt, members: [...new Set(m.direct)] })
      }
      try {
        // The usual batch, all conversations known: one INSERT statement,
        // atomic on its own, without BEGIN and COMMIT round trips.
        if (direct.size === 0) return { insertedSeqs: await insertMessages(this.opts.db, entries.map((e) => e.message)) }
        return await this.opts.db.transaction().execute(async (trx) => {
          await ensureDirectConversations(trx, [...direct.values()].sort((a, b) => a.id < b.id ? -1 : 1))
          return { insertedSeqs: await insertMessages(trx, entries.map((e) => e.message)) }
        })
      } catch (err) {
        if (attempt < 3 && classifyDbError(err) === 'conflict') continue
        throw err
      }
    }
  }

  /**
   * Applies one membership event in its own transaction, the group's row
   * locked, after checking it again against the stored state (the check
   * before publishing may have raced another change). A refused event is
   * tried again a few deliveries (an earlier event of the same group may be
   * in another batch still being committed), then dead-lettered with the
   * reason and recorded as settled. A redelivered event is acked as a
   * duplicate.
   */
  private async applyEvent (e: EventEntry, report: BatchReport): Promise<void> {
    const { event, seq } = e
    try {
      const outcome = await this.opts.db.transaction().execute(async (trx) => {
        if (await eventApplied(trx, seq, event.id)) return 'duplicate'
        const before = await loadGroup(trx, event.conversationId, true)
        const after = nextState(before, event, seq, this.opts.groupMaxMembers)
        await storeGroupEvent(trx, event, seq, before, after)
        return 'stored'
      })
      e.msg.ack()
      if (outcome === 'stored') {
        report.stored++
        this.opts.metrics.rowsWritten.inc({ table: 'conversation_events' })
      } else {
        report.duplicates++
      }
    } catch (err) {
      if (err instanceof GroupRefusal) {
        if (e.msg.info.deliveryCount >= REFUSED_EVENT_DELIVERIES) {
          await this.deadLetterEvent(e.msg, { category: 'refused', reason: `${event.type} refused (${err.code}): ${err.message}` }, report)
        } else {
          this.retry(e.msg, report)
        }
        return
      }
      this.opts.log.error({ err, seq }, 'could not apply a membership event; it will be delivered again')
      this.opts.metrics.writeErrors.inc({ stream: 'chat' })
      this.retry(e.msg, report)
    }
  }

  private remember (conversationId: string): void {
    if (this.known.size >= KNOWN_CONVERSATIONS_MAX) this.known.clear()
    this.known.add(conversationId)
  }

  private retry (msg: JsMsg, report: BatchReport): void {
    msg.nak(retryDelayMs(msg.info.deliveryCount))
    report.retried++
  }

  /**
   * Dead-letters an entry of a group's event subject, and records it as
   * settled before terminating it: the group's later messages wait for
   * every earlier event that is neither applied nor recorded so.
   */
  private async deadLetterEvent (msg: JsMsg, poison: Poison, report: BatchReport): Promise<void> {
    const conversationId = msg.subject.slice(this.events.prefix.length)
    await this.deadLetter(msg, poison, report, async () => {
      await recordDeadLetteredEvent(this.opts.db, msg.info.streamSequence, conversationId, poison.category)
    })
  }

  /**
   * Publishes the entry with its reason to the dead-letter subject (stored in
   * DEADLETTER), runs `settle` if given, then terminates it. If either fails
   * the entry is nak'ed instead, so it is not lost: it comes back and is
   * tried again (the dead letter's message id keeps one copy).
   */
  private async deadLetter (msg: JsMsg, poison: Poison, report: BatchReport, settle?: () => Promise<void>): Promise<void> {
    const seq = msg.info.streamSequence
    try {
      await this.opts.deadLetter({ stream: 'chat', subject: msg.subject, seq, data: msg.data }, poison.reason)
    } catch (err) {
      this.opts.log.error({ err, seq, subject: msg.subject }, 'could not publish a dead letter; the message will be delivered again')
      this.retry(msg, report)
      return
    }
    try {
      await settle?.()
    } catch (err) {
      this.opts.log.error({ err, seq, subject: msg.subject }, 'could not record a dead-lettered event; it will be delivered again')
      this.retry(msg, report)
      return
    }
    // No reason in the term: nats-server before 2.10.4 ignores `+TERM <reason>`
    // altogether, leaving the message pending; the reason is in the dead letter.
    msg.term()
    report.deadLettered++
    this.opts.metrics.deadLetters.inc({ stream: 'chat', category: poison.category })
    this.opts.log.warn({ seq, subject: msg.subject, category: poison.category, reason: poison.reason }, 'message dead-lettered: it can never be stored')
  }
}
