import { headers } from '@nats-io/transport-node'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { Namespace } from '@metadome/nats'
import { DeadLetterHeaders } from '@metadome/contracts'

const NANOS_PER_MS = 1_000_000

/**
 * DEADLETTER keeps what the writer could never store, so that terminating a
 * message never loses it: operators read it with `nats stream view` and can
 * republish a fixed entry. Only the writer publishes here.
 */
export const deadLetterStream = (ns: Namespace) => ({
  name: ns.stream('DEADLETTER'),
  subjects: [ns.subject('deadletter', '>')],
  max_age: 30 * 24 * 60 * 60 * 1000 * NANOS_PER_MS,
  duplicate_window: 2 * 60 * 1000 * NANOS_PER_MS
})

export interface DeadLetterSource {
  /** `chat` or `users`: the stream the entry came from. */
  stream: string
  subject: string
  seq: number
  data: Uint8Array
}

export type DeadLetterPublisher = (source: DeadLetterSource, reason: string) => Promise<void>

/** A header value is one line of printable text. */
function headerValue (text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 1_000)
}

/**
 * Publishes the original payload, unchanged, on `<ns>.deadletter.<stream>`
 * with the reason and origin in headers, and resolves once DEADLETTER stored
 * it. The message id is the origin's stream sequence, so dead-lettering the
 * same entry twice (the writer crashed before terminating it) keeps one copy.
 */
export function deadLetterPublisher (js: JetStreamClient, ns: Namespace): DeadLetterPublisher {
  return async function publish (source, reason) {
    const h = headers()
    h.set(DeadLetterHeaders.reason, headerValue(reason))
    h.set(DeadLetterHeaders.subject, headerValue(source.subject))
    h.set(DeadLetterHeaders.streamSeq, String(source.seq))
    await js.publish(ns.subject('deadletter', source.stream), source.data, { headers: h, msgID: `${source.stream}-${source.seq}` })
  }
}
