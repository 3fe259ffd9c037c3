import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream'
import type { FastifyBaseLogger } from 'fastify'
import { RESUMING_PULL } from '@metadome/nats'
import { Batcher, type BatcherOptions } from './batcher.js'

export interface ConsumeLoopOptions extends Omit<BatcherOptions<JsMsg>, 'maxInFlight'> {
  consumer: Consumer
  batchesInFlight: number
  log: FastifyBaseLogger
}

/**
 * Pulls from a durable consumer into a Batcher until closed. The client asks
 * the server for at most one batch more than it is writing (`max_messages`),
 * so a process never holds more than that unacked. If the loop fails it logs
 * and starts again; the messages it held are redelivered after ack_wait.
 */
export class ConsumeLoop {
  private readonly batcher: Batcher<JsMsg>
  private messages: ConsumerMessages | undefined
  private closing = false
  private done: Promise<void> = Promise.resolve()

  constructor (private readonly opts: ConsumeLoopOptions) {
    this.batcher = new Batcher({ maxSize: opts.maxSize, maxWaitMs: opts.maxWaitMs, maxInFlight: opts.batchesInFlight, write: opts.write })
  }

  start (): void {
    this.done = this.run()
  }

  /**
   * Stops pulling, writes and settles what was already received (messages
   * pulled but not yet yielded still come through the iterator after stop),
   * and resolves when every batch is committed and acked.
   */
  async close (): Promise<void> {
    this.closing = true
    this.messages?.stop()
    await this.done
  }

  private async run (): Promise<void> {
    while (!this.closing) {
      try {
        const messages = await this.opts.consumer.consume({ max_messages: this.opts.maxSize * (this.opts.batchesInFlight + 1), ...RESUMING_PULL })
        this.messages = messages
        if (this.closing) messages.stop()
        void this.watch(messages)
        for await (const m of messages) await this.batcher.add(m)
      } catch (err) {
        this.opts.log.error({ err }, 'consume loop failed; starting again')
      }
      await this.batcher.drain()
      if (!this.closing) await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
  }

  private async watch (messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      switch (s.type) {
        case 'consumer_deleted':
        case 'consumer_not_found':
        case 'stream_not_found':
        case 'heartbeats_missed':
          this.opts.log.warn({ status: s }, 'consumer status')
          break
        default:
          break
      }
    }
  }
}

/** Backoff for a nak: 250 ms doubling per delivery, at most 30 s. */
export function retryDelayMs (deliveryCount: number): number {
  return Math.min(30_000, 250 * 2 ** Math.min(Math.max(deliveryCount - 1, 0), 7))
}
