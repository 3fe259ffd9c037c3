import { isDeepStrictEqual } from 'node:util'
import type { JetStreamManager, StreamConfig, ConsumerConfig, ConsumerInfo, StreamInfo } from '@nats-io/jetstream'

function isNotFound (err: unknown): boolean {
  // nats.js v3 reports a missing stream or consumer with JetStream API code 10059/10014.
  const code = (err as { api_error?: { err_code?: number } }).api_error?.err_code
  return code === 10059 || code === 10014 ||
    (err instanceof Error && /not found/i.test(err.message))
}

/**
 * A JetStream API error that passes: no answer in time, no responders, or
 * 503/10008 "temporarily unavailable" while a cluster elects its meta leader
 * or places a new replicated stream.
 */
export function isTransientJetStreamError (err: unknown): boolean {
  const code = (err as { api_error?: { code?: number, err_code?: number } }).api_error
  if (code?.code === 503 || code?.err_code === 10008) return true
  return /timeout|no responders|temporarily unavailable|no suitable peers|insufficient resources|leader/i.test(err instanceof Error ? err.message : String(err))
}

/** Runs `fn` until it succeeds, again after a transient error (with backoff), until `deadlineMs` has passed. */
async function retryingSetup<T> (what: string, deadlineMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + deadlineMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (!isTransientJetStreamError(err) || Date.now() > deadline) {
        throw new Error(`could not set up ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 250 * 2 ** attempt)))
    }
  }
}

/** How long setup keeps retrying while a cluster elects leaders (a fresh R3 cluster takes a few seconds). */
const SETUP_DEADLINE_MS = 60_000

/**
 * Creates the stream, or updates it to `config` when it exists (its
 * replicas included: NATS moves a stream to more or fewer replicas in
 * place). Safe to run on every start of every app replica.
 *
 * Only the stream's owner updates it (`owner: true`, the default): the apps
 * that only use a stream create it when it is missing (start order does not
 * matter) and otherwise take it as it is, so their NATS users need no right
 * to change it (deploy/nats/permissions.conf), where a changed limit could
 * empty it.
 */
export async function ensureStream (
  jsm: JetStreamManager,
  stream: Partial<StreamConfig> & { name: string, subjects: string[] },
  replicas = 1,
  { owner = true }: { owner?: boolean } = {}
): Promise<StreamInfo> {
  const config = { ...stream, num_replicas: replicas }
  return await retryingSetup(`stream ${config.name}`, SETUP_DEADLINE_MS, async () => await createOrUpdateStream(jsm, config, owner))
}

/** True when `current` already has every field `wanted` sets (so an update would change nothing). */
export function configHolds (current: object, wanted: object): boolean {
  const have = current as Record<string, unknown>
  return Object.entries(wanted).every(([key, value]) => isDeepStrictEqual(have[key], value))
}

async function createOrUpdateStream (jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string, subjects: string[] }, owner: boolean): Promise<StreamInfo> {
  try {
    const info = await jsm.streams.info(config.name)
    // Every app replica runs this at start: an update that changes nothing
    // still goes through the meta leader, and many at once time out there.
    if (!owner || configHolds(info.config, config)) return info
  } catch (err) {
    if (!isNotFound(err)) throw err
    try {
      return await jsm.streams.add(config)
    } catch (addErr) {
      // Another app created it between our lookup and our add.
      if (!/already in use|already exists/i.test(String(addErr))) throw addErr
      if (!owner) return await jsm.streams.info(config.name)
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
  return await retryingSetup(`consumer ${config.durable_name} of ${stream}`, SETUP_DEADLINE_MS, async () => {
    try {
      const info = await jsm.consumers.info(stream, config.durable_name)
      if (configHolds(info.config, config)) return info
      return await jsm.consumers.update(stream, config.durable_name, config)
    } catch (err) {
      if (!isNotFound(err)) throw err
      return await jsm.consumers.add(stream, config)
    }
  })
}
