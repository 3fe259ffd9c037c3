import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram } from 'prom-client'
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { NatsConnection } from '@nats-io/transport-node'
import { ensureStream, type Namespace } from '@metadome/nats'
import { usersStream, userEventSubject } from '@metadome/contracts'
import type { AuthDatabase } from '../../db/database.js'
import { backlog, markPublished, pendingEvents, prunePublished, withRelayLock } from '../../db/outbox.repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    outbox: {
      /** Tells the relay that an event was just committed, so it need not wait for its next poll. */
      wake: () => void
    }
  }
}

export interface RelayOptions {
  /** How often to look for events written by others (other replicas, the create-admin script). */
  pollMs?: number
  batchSize?: number
  publishTimeoutMs?: number
  minBackoffMs?: number
  maxBackoffMs?: number
}

const PRUNE_EVERY_MS = 60 * 60 * 1000
const KEEP_PUBLISHED_DAYS = 7

/**
 * Publishes the outbox to the USERS stream, in seq order, each event with
 * Nats-Msg-Id = its id.
 *
 * Exactly one relay publishes at a time across all replicas: a batch runs in
 * a transaction holding the single row of outbox_relay_lock (FOR UPDATE SKIP
 * LOCKED; the others skip and poll again). Within it, events go out one
 * after the other, each marked published once the stream has stored it. If
 * NATS is down the publish fails, what was marked is committed and the relay
 * retries with exponential backoff; requests never wait for any of this.
 * A crash between the stream's ack and the commit republishes the event with
 * the same id, and the stream drops it as a duplicate.
 */
export class OutboxRelay {
  private stopped = false
  private running: Promise<void> | undefined
  private wakeUp: (() => void) | undefined
  private woken = false
  private js: JetStreamClient | undefined
  private lastPrune = 0
  private readonly opts: Required<RelayOptions>

  constructor (
    private readonly db: Kysely<AuthDatabase>,
    private readonly nc: NatsConnection,
    private readonly ns: Namespace,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: { lag: Histogram, published: Counter },
    opts: RelayOptions = {},
    /** NATS_STREAM_REPLICAS, for the USERS stream if this relay creates it. */
    private readonly replicas = 1
  ) {
    this.opts = { pollMs: 1_000, batchSize: 100, publishTimeoutMs: 5_000, minBackoffMs: 100, maxBackoffMs: 10_000, ...opts }
  }

  start (): void {
    this.running ??= this.loop()
  }

  wake (): void {
    this.woken = true
    this.wakeUp?.()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.wake()
    await this.running
  }

  private async loop (): Promise<void> {
    let backoff = this.opts.minBackoffMs
    while (!this.stopped) {
      try {
        const more = await this.publishBatch()
        backoff = this.opts.minBackoffMs
        if (!more) {
          await this.maybePrune()
          await this.sleep(this.opts.pollMs)
        }
      } catch (err) {
        this.js = undefined // set the stream up again on the next try
        if (this.stopped) break
        this.log.warn({ err, retryInMs: backoff }, 'outbox relay: publishing failed, will retry')
        await this.sleep(backoff)
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs)
      }
    }
  }

  /** One batch under the relay lock; true when a full batch went out (there may be more). */
  private async publishBatch (): Promise<boolean> {
    let published = 0
    let failure: unknown
    const held = await withRelayLock(this.db, async (trx) => {
      const rows = await pendingEvents(trx, this.opts.batchSize)
      if (rows.length === 0) return
      const js = await this.jetstream()
      for (const row of rows) {
        if (this.stopped) break
        try {
          const ack = await js.publish(userEventSubject(this.ns, row.type), JSON.stringify(row.payload), {
            msgID: row.id,
            timeout: this.opts.publishTimeoutMs
          })
          // A duplicate is an event published before whose commit was lost:
          // the stream kept the first copy, and this one is counted apart.
          this.metrics.published.inc({ result: ack.duplicate ? 'duplicate' : 'stored' })
        } catch (err) {
          failure = err
          break // keep the order: nothing after a failed event goes out before it
        }
        await markPublished(trx, row.seq)
        this.metrics.lag.observe((Date.now() - row.occurred_at.getTime()) / 1000)
        published++
      }
    })
    if (failure !== undefined) throw failure
    return held && published === this.opts.batchSize
  }

  private async jetstream (): Promise<JetStreamClient> {
    if (this.js === undefined) {
      const jsm = await jetstreamManager(this.nc, { timeout: this.opts.publishTimeoutMs })
      await ensureStream(jsm, usersStream(this.ns), this.replicas)
      this.js = jetstream(this.nc, { timeout: this.opts.publishTimeoutMs })
    }
    return this.js
  }

  private async maybePrune (): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return
    this.lastPrune = Date.now()
    await prunePublished(this.db, KEEP_PUBLISHED_DAYS)
  }

  private async sleep (ms: number): Promise<void> {
    if (this.stopped) return
    if (this.woken) { this.woken = false; return }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done (): void { clearTimeout(timer); resolve() }
      this.wakeUp = done
    })
    this.wakeUp = undefined
    this.woken = false
  }
}

export const outboxRelayPlugin = fp(async function outboxRelayPlugin (app: FastifyInstance, opts: RelayOptions) {
  const lag = new Histogram({
    name: 'auth_outbox_publish_lag_seconds',
    help: 'Time from a user event being committed to the USERS stream storing it',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [app.metrics]
  })
  const published = new Counter({
    name: 'auth_outbox_published_total',
    help: 'User events published by this replica: stored, or duplicate (already stored, the stream dropped it)',
    labelNames: ['result'],
    registers: [app.metrics]
  })
  for (const result of ['stored', 'duplicate']) published.inc({ result }, 0)
  const db = app.authDb
  // Scraped from the table, so every replica reports the same, true backlog.
  // Registered with app.metrics; collect() runs at each scrape.
  new Gauge({
    name: 'auth_outbox_backlog',
    help: 'User events committed but not yet published to NATS',
    registers: [app.metrics],
    async collect () { this.set(await backlog(db)) }
  })

  const relay = new OutboxRelay(db, app.nats.nc, app.nats.ns, app.log.child({ component: 'outbox-relay' }), { lag, published }, opts, app.nats.replicas)
  app.decorate('outbox', { wake: () => { relay.wake() } })
  app.addHook('onReady', async () => { relay.start() })
  // Registered after the database and NATS plugins, so this runs before they close.
  app.addHook('onClose', async () => { await relay.stop() })
}, { name: 'auth-outbox-relay', dependencies: ['metadome-db', 'metadome-nats', 'metadome-metrics'] })
