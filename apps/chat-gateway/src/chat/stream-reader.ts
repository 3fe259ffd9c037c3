import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { Unavailable } from '@metadome/service'

export interface StreamEntry {
  seq: number
  subject: string
  /** Empty when read with headersOnly. */
  data: string
  msgId: string
}

export interface ReadRange {
  /** A subject filter (one: nats-server 2.9 has no multi-filter consumers). */
  filter: string
  /** First seq to read. */
  from: number
  /** Last seq to read (inclusive); later entries are left to the live feed. */
  to: number
  /** Subjects and headers only (to discover conversations cheaply). */
  headersOnly?: boolean
}

const BATCH = 256
const NANOS_PER_MS = 1_000_000

/** Times a read starts again from where it stopped when its consumer fails (a stream leader moving, a server lost). */
const RESUMES = 5

/**
 * Refuses to read more than `max` entries (from..to): what the writer has
 * not stored, a connect or a sync reads from the stream, and without a bound
 * a writer outage, or a sync from 0, would make every socket cost the NATS
 * servers a scan of the whole stream. The socket is told to try again.
 */
export function checkReadable (from: number, to: number, max: number): void {
  const entries = to - from + 1
  if (entries > max) throw new Unavailable(`${entries} messages are not stored yet, over the ${max} a catch-up reads from the stream: try again once message-writer has stored them`)
}

/**
 * Reads a range of a stream, in seq order, through a short-lived ephemeral
 * pull consumer (no acks, memory storage, removed at the end and by the
 * server after 30 s of inactivity if this process dies meanwhile). If the
 * consumer fails on the way (its stream's leader moved to another node, the
 * connection moved to another server), a new one goes on from the entry
 * after the last one read, a few times, so a catch-up survives a node's
 * death; then the error is the caller's.
 */
export async function * readStream (js: JetStreamClient, jsm: JetStreamManager, stream: string, range: ReadRange): AsyncGenerator<StreamEntry> {
  let from = range.from
  for (let resumes = 0; ; resumes++) {
    try {
      for await (const entry of readOnce(js, jsm, stream, { ...range, from })) {
        from = entry.seq + 1
        yield entry
      }
      return
    } catch (err) {
      if (resumes >= RESUMES) throw err
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** resumes))
    }
  }
}

async function * readOnce (js: JetStreamClient, jsm: JetStreamManager, stream: string, range: ReadRange): AsyncGenerator<StreamEntry> {
  if (range.from > range.to) return
  const info = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, range.from),
    filter_subject: range.filter,
    headers_only: range.headersOnly === true,
    inactive_threshold: 30_000 * NANOS_PER_MS,
    mem_storage: true,
    num_replicas: 1
  })
  try {
    let pending = info.num_pending
    const consumer = await js.consumers.get(stream, info.name)
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, BATCH), expires: 5_000 })
      let got = 0
      for await (const m of batch) {
        got++
        pending = m.info.pending
        if (m.seq > range.to) return
        yield { seq: m.seq, subject: m.subject, data: range.headersOnly === true ? '' : m.string(), msgId: m.headers?.get('Nats-Msg-Id') ?? '' }
        if (m.seq === range.to) return
      }
      // Nothing came although some were pending: entries removed meanwhile
      // (limits, purge), or a consumer that lost its leader. A new consumer
      // tells which: it finds nothing pending in the first case.
      if (got === 0) throw new Error('a fetch brought nothing while entries were pending')
    }
  } finally {
    jsm.consumers.delete(stream, info.name).catch(() => {})
  }
}
