import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

const positive = (defaultValue: number, description: string) =>
  Type.Integer({ minimum: 1, default: defaultValue, description })

export const GatewayConfig = Type.Object({
  ...env.common,
  ...env.chatStream,
  PORT: env.port(3001),
  AUTH_URL: env.AuthUrl,
  AUTH_URL_ALLOW_HTTP: Type.Union([Type.Literal('false'), Type.Literal('true')], { default: 'false', description: 'true to fetch the JWKS over plain http from a host other than loopback (a network you trust)' }),
  JWT_ISSUER: env.JwtIssuer,
  JWT_AUDIENCE: env.JwtAudience,
  WS_AUTH_TIMEOUT_MS: positive(5_000, 'milliseconds a socket has to send its auth frame (then close 4408)'),
  WS_MAX_PAYLOAD_BYTES: positive(128 * 1024, 'the largest WebSocket frame accepted, in bytes (beyond: close 1009)'),
  WS_MAX_BUFFERED_BYTES: positive(1024 * 1024, 'bytes queued to one socket before it is closed as too slow (4008)'),
  WS_TOKEN_GRACE_MS: positive(30_000, 'milliseconds a socket may stay open past its token\'s expiry without renewing it (then close 4401)'),
  WS_PING_INTERVAL_MS: positive(25_000, 'milliseconds between WebSocket pings; a peer silent for two is terminated'),
  WS_RATE_PER_SECOND: positive(100, 'frames per second a socket may send, sustained (beyond: rate_limited, close 4029)'),
  WS_RATE_BURST: positive(200, 'frames a socket may send in a burst above the sustained rate'),
  WS_BYTES_PER_SECOND: positive(256 * 1024, 'bytes per second a socket may send, sustained; bursts up to two of its largest frames (beyond: close 4029)'),
  WS_USER_BYTES_PER_SECOND: positive(1024 * 1024, 'bytes per second one user may send over all their sockets on one gateway, sustained; bursts as a socket\'s (beyond: the socket that goes over is closed with 4029)'),
  WS_READS_PER_SECOND: positive(10, 'sync, history and conversations requests per second a socket may make, twice that in a burst (beyond: rate_limited)'),
  WS_TYPING_INTERVAL_MS: positive(1_000, 'milliseconds between two typing frames of one conversation that are relayed (the rest are dropped)'),
  WS_MAX_SOCKETS_PER_USER: positive(20, 'sockets one user may have open on one gateway (beyond: close 4429)'),
  WS_MAX_BAD_FRAMES: positive(20, 'consecutive invalid frames after which a socket is closed (4029)'),
  REST_RATE_LIMIT_PER_MINUTE: positive(600, 'REST requests one user may make to one gateway in a minute (beyond: 429 rate_limited)'),
  CATCH_UP_STREAM_MAX: positive(20_000, 'entries of CHAT that one connect or sync may read from the stream where the writer has not stored them (it is down or far behind); beyond, the socket is told to try again (1013, or unavailable to a sync) rather than the stream scanned'),
  WRITER_TIMEOUT_MS: positive(3_000, 'milliseconds to wait for message-writer to answer a request')
})
export type GatewayConfig = Static<typeof GatewayConfig>

/**
 * The gateway trusts every token the JWKS at AUTH_URL vouches for: fetched
 * over plain http across a network, anyone on the path could swap the keys.
 * http is accepted on loopback, elsewhere only with AUTH_URL_ALLOW_HTTP=true.
 */
export function checkAuthUrl (config: Pick<GatewayConfig, 'AUTH_URL' | 'AUTH_URL_ALLOW_HTTP'>): void {
  const url = new URL(config.AUTH_URL)
  if (url.protocol !== 'http:' || config.AUTH_URL_ALLOW_HTTP === 'true') return
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return
  throw new Error(`AUTH_URL ${url.origin} is plain http outside loopback: use https, or set AUTH_URL_ALLOW_HTTP=true on a network you trust`)
}
