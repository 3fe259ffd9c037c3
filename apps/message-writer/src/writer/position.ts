import type { JetStreamManager } from '@nats-io/jetstream'

/**
 * How far CHAT is stored: the writer consumer's ack floor. The writer acks a
 * message only after the transaction that stored it committed (or after it
 * was dead-lettered, when it never will be), and JetStream's ack floor is the
 * highest stream sequence at and below which every entry is acked. So every
 * seq at or below it is in PostgreSQL, whatever the order in which batches of
 * several replicas commit, and the value only lags, never leads. Concurrent
 * callers share one request to the server.
 */
export function storedThroughReader (jsm: JetStreamManager, stream: string, durable: string): () => Promise<number> {
  let pending: Promise<number> | undefined
  return async function storedThrough () {
    pending ??= jsm.consumers.info(stream, durable)
      .then((info) => info.ack_floor.stream_seq)
      .finally(() => { pending = undefined })
    return await pending
  }
}
