import type { Kysely } from 'kysely'
import type { Consumer, JsMsg } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import { Compile } from 'typebox/compile'
import type { Namespace } from '@metadome/nats'
import { UserEvent } from '@metadome/contracts'
import type { ChatDatabase } from '../db/database.js'
import { applyUserChanges, type UserChange } from '../db/user.repository.js'
import { ConsumeLoop, retryDelayMs } from './consume-loop.js'
import type { DeadLetterPublisher } from './dead-letter.js'
import type { WriterMetrics } from './metrics.js'
import { classifyDbError } from './db-errors.js'

export interface UsersWriterOptions {
  db: Kysely<ChatDatabase>
  consumer: Consumer
  ns: Namespace
  deadLetter: DeadLetterPublisher
  metrics: WriterMetrics
  log: FastifyBaseLogger
  batchSize: number
  batchWaitMs: number
}

const checkUserEvent = Compile(UserEvent)
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Keeps the `users` projection from USERS: registered and updated upsert the
 * user, deleted leaves a tombstone (their messages stay), sessions_revoked is
 * the gateways' business. Batches are one statement each; the USERS stream
 * sequence is each row's version, so replicas applying batches in any order
 * converge on the newest state.
 */
export class UsersWriter {
  private readonly loop: ConsumeLoop

  constructor (private readonly opts: UsersWriterOptions) {
    this.loop = new ConsumeLoop({
      consumer: opts.consumer,
      maxSize: opts.batchSize,
      maxWaitMs: opts.batchWaitMs,
      batchesInFlight: 1,
      log: opts.log,
      write: async (batch) => { await this.write(batch) }
    })
  }

  start (): void { this.loop.start() }

  async close (): Promise<void> { await this.loop.close() }

  private async write (batch: JsMsg[]): Promise<void> {
    const started = performance.now()
    const changes: UserChange[] = []
    const settle: JsMsg[] = []
    const prefix = `${this.opts.ns.prefix}.users.`
    for (const msg of batch) {
      let event: unknown
      try {
        event = JSON.parse(decoder.decode(msg.data))
      } catch {
        await this.deadLetter(msg, 'payload is not UTF-8 JSON', 'invalid_json')
        continue
      }
      if (!checkUserEvent.Check(event)) {
        const [first] = checkUserEvent.Errors(event)
        await this.deadLetter(msg, `not a UserEvent: ${first === undefined ? 'invalid' : `${first.instancePath || '/'} ${first.message}`}`, 'invalid_message')
        continue
      }
      if (msg.subject !== `${prefix}${event.type}`) {
        await this.deadLetter(msg, `a ${event.type} event published on ${msg.subject}`, 'unknown_subject')
        continue
      }
      settle.push(msg)
      if (event.type === 'sessions_revoked') continue
      changes.push({
        id: event.user.id,
        version: msg.info.streamSequence,
        occurredAt: new Date(event.occurredAt),
        profile: event.type === 'deleted' ? null : { username: event.user.username, displayName: event.user.displayName }
      })
    }

    try {
      await applyUserChanges(this.opts.db, changes)
      for (const msg of settle) msg.ack()
      this.opts.metrics.rowsWritten.inc({ table: 'users' }, changes.length)
      this.opts.metrics.messages.inc({ stream: 'users', outcome: 'stored' }, settle.length)
    } catch (err) {
      // A row the database rejects cannot come from a valid event (names are
      // plain strings), so every failure here is worth retrying.
      this.opts.log.error({ err, kind: classifyDbError(err), events: settle.length }, 'could not apply user events; they will be delivered again')
      this.opts.metrics.writeErrors.inc({ stream: 'users' })
      for (const msg of settle) msg.nak(retryDelayMs(msg.info.deliveryCount))
      this.opts.metrics.messages.inc({ stream: 'users', outcome: 'retry' }, settle.length)
    }
    this.opts.metrics.batchSize.observe({ stream: 'users' }, batch.length)
    this.opts.metrics.batchDuration.observe({ stream: 'users' }, (performance.now() - started) / 1000)
  }

  private async deadLetter (msg: JsMsg, reason: string, category: string): Promise<void> {
    const seq = msg.info.streamSequence
    try {
      await this.opts.deadLetter({ stream: 'users', subject: msg.subject, seq, data: msg.data }, reason)
    } catch (err) {
      this.opts.log.error({ err, seq }, 'could not publish a dead letter; the event will be delivered again')
      msg.nak(retryDelayMs(msg.info.deliveryCount))
      return
    }
    // No reason in the term: nats-server before 2.10.4 ignores `+TERM <reason>`
    // altogether, leaving the message pending; the reason is in the dead letter.
    msg.term()
    this.opts.metrics.deadLetters.inc({ stream: 'users', category })
    this.opts.metrics.messages.inc({ stream: 'users', outcome: 'dead_letter' })
    this.opts.log.warn({ seq, subject: msg.subject, category, reason }, 'user event dead-lettered: it can never be applied')
  }
}
