import type { JetStreamManager, StreamConfig, ConsumerConfig, ConsumerInfo, StreamInfo } from '@nats-io/jetstream'

function isNotFound (err: unknown): boolean {
  // nats.js v3 reports a missing stream or consumer with JetStream API code 10059/10014.
  const code = (err as { api_error?: { err_code?: number } }).api_error?.err_code
  return code === 10059 || code === 10014 ||
    (err instanceof Error && /not found/i.test(err.message))
}

/**
 * Creates the stream, or updates it to `config` when it exists (its
 * replicas included: NATS moves a stream to more or fewer replicas in
 * place). Safe to run on every start of every app replica.
 */
export async function ensureStream (
  jsm: JetStreamManager,
  stream: Partial<StreamConfig> & { name: string, subjects: string[] },
  replicas = 1
): Promise<StreamInfo> {
  const config = { ...stream, num_replicas: replicas }
  try {
    await jsm.streams.info(config.name)
  } catch (err) {
    if (!isNotFound(err)) throw err
    try {
      return await jsm.streams.add(config)
    } catch (addErr) {
      // Another replica created it between our lookup and our add.
      if (!/already in use|already exists/i.test(String(addErr))) throw addErr
    }
  }
  return await jsm.streams.update(config.name, config)
}

/** Creates or updates a durable consumer with `replicas` (as its stream's); safe on every start. */
export async function ensureConsumer (
  jsm: JetStreamManager,
  stream: string,
  consumer: Partial<ConsumerConfig> & { durable_name: string },
  replicas = 1
): Promise<ConsumerInfo> {
  const config = { ...consumer, num_replicas: replicas }
  try {
    await jsm.consumers.info(stream, config.durable_name)
    return await jsm.consumers.update(stream, config.durable_name, config)
  } catch (err) {
    if (!isNotFound(err)) throw err
    return await jsm.consumers.add(stream, config)
  }
}
