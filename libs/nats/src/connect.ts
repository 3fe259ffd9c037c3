import { readFileSync } from 'node:fs'
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node'
import type { FastifyBaseLogger as Logger } from 'fastify'

export interface NatsConfig {
  /** Comma-separated server URLs (NATS_URL). */
  url: string
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string
  logger: Logger
  /** How long to keep trying the first connection before giving up. */
  connectTimeoutMs?: number
  /**
   * Skips capturing a stack trace for every request (nats.js does so by
   * default, for better timeout errors): on a hot path of JetStream publishes
   * (chat-gateway) it costs a third of the throughput.
   */
  noAsyncTraces?: boolean
  auth?: NatsAuth
}

/** Who the app is to NATS, and whom it trusts (NATS_USER, NATS_PASSWORD, NATS_CREDS_FILE, NATS_TLS_CA_FILE). */
export interface NatsAuth {
  user?: string
  password?: string
  credsFile?: string
  tlsCaFile?: string
}

/** The NatsAuth of an app's configuration. */
export function natsAuth (config: { NATS_USER?: string, NATS_PASSWORD?: string, NATS_CREDS_FILE?: string, NATS_TLS_CA_FILE?: string }): NatsAuth {
  if (config.NATS_CREDS_FILE !== undefined && config.NATS_USER !== undefined) throw new Error('set NATS_CREDS_FILE or NATS_USER, not both')
  if ((config.NATS_USER === undefined) !== (config.NATS_PASSWORD === undefined)) throw new Error('NATS_USER and NATS_PASSWORD go together')
  return {
    ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER, password: config.NATS_PASSWORD }),
    ...(config.NATS_CREDS_FILE === undefined ? {} : { credsFile: config.NATS_CREDS_FILE }),
    ...(config.NATS_TLS_CA_FILE === undefined ? {} : { tlsCaFile: config.NATS_TLS_CA_FILE })
  }
}

function authOptions (auth: NatsAuth | undefined): Record<string, unknown> {
  if (auth === undefined) return {}
  const credsFile = auth.credsFile
  return {
    ...(auth.user === undefined ? {} : { user: auth.user, pass: auth.password }),
    // Read at every (re)connect, so a rotated file is picked up.
    ...(credsFile === undefined ? {} : { authenticator: credsAuthenticator(() => readFileSync(credsFile)) }),
    ...(auth.tlsCaFile === undefined ? {} : { tls: { caFile: auth.tlsCaFile } })
  }
}

/**
 * Where replies to this app's requests arrive: its own prefix, not the
 * shared _INBOX, so that deploy/nats/permissions.conf lets each app's user
 * subscribe to its own replies only (another app's credentials cannot read
 * what the writer answers a gateway).
 */
export function inboxPrefix (name: string): string {
  return `_INBOX_${name.replace(/[^\w-]/g, '_')}`
}

export function natsServers (url: string): string[] {
  return url.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/**
 * Connects and stays connected: after the first success the client reconnects
 * forever, and publishes made meanwhile are buffered by the client. Status
 * changes are logged so an outage is visible in the app's logs.
 */
export async function connectNats (config: NatsConfig): Promise<NatsConnection> {
  const nc = await connect({
    servers: natsServers(config.url),
    name: config.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A server that stops answering (paused, or its host gone without a
    // reset) is given up after two missed pings, and another one is tried.
    pingInterval: 3_000,
    maxPingOut: 2,
    timeout: config.connectTimeoutMs ?? 5_000,
    noAsyncTraces: config.noAsyncTraces ?? false,
    inboxPrefix: inboxPrefix(config.name),
    ...authOptions(config.auth)
  })
  void logStatus(nc, config.logger)
  return nc
}

async function logStatus (nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect': logger.warn({ server: s.server }, 'NATS disconnected'); break
      case 'reconnect': logger.info({ server: s.server }, 'NATS reconnected'); break
      case 'error': logger.error({ err: s.error }, 'NATS error'); break
      case 'slowConsumer': logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer'); break
      default: break
    }
  }
}

/** Resolves when the server answers a ping within `timeoutMs`; for readiness checks. */
export async function pingNats (nc: NatsConnection, timeoutMs = 1_000): Promise<void> {
  if (nc.isClosed()) throw new Error('NATS connection is closed')
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      nc.flush(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('NATS did not answer in time')), timeoutMs)
      })
    ])
  } finally {
    clearTimeout(timer)
  }
}
