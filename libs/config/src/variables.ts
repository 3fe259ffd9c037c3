import Type from 'typebox'

// The environment variables of DESIGN.md "Configuration", as schema pieces.
// Each app composes the ones it reads into its own schema (see each app's
// config.ts), so the names, defaults and checks are written once.

const NATS_SERVER = String.raw`(?:(?:nats|tls)://)?[\w.\-\[\]:@%]+`

export const Host = Type.String({
  minLength: 1,
  default: '127.0.0.1',
  description: 'a host name or IP address to listen on'
})

export const port = (defaultPort: number) =>
  Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: defaultPort,
    description: 'a port number from 0 to 65535'
  })

export const NatsUrl = Type.String({
  pattern: `^${NATS_SERVER}(?:,${NATS_SERVER})*$`,
  default: 'nats://127.0.0.1:4222',
  description: 'comma-separated NATS server URLs such as nats://127.0.0.1:4222'
})

export const NatsNamespace = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,48}$',
  default: 'metadome',
  description: 'up to 48 letters, digits, "_" or "-"'
})

export const DatabaseUrl = Type.String({
  pattern: '^postgres(?:ql)?://\\S+$',
  description: 'a postgres:// connection URL',
  sensitive: true
})

export const AuthUrl = Type.String({
  pattern: '^https?://\\S+$',
  default: 'http://127.0.0.1:3000',
  description: 'the http(s) URL of auth-api'
})

export const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' }
)

export const LogFormat = Type.Union(
  ['auto', 'json', 'pretty'].map((format) => Type.Literal(format)),
  { default: 'auto', description: 'auto (pretty on a terminal, JSON otherwise), json or pretty' }
)

export const NatsStreamReplicas = Type.Integer({
  minimum: 1,
  maximum: 5,
  default: 1,
  description: 'replicas of every stream and durable consumer the apps create (1 on one server; 3 in a 3-node cluster)'
})

const optionalText = (description: string) => Type.Optional(Type.String({ minLength: 1, description }))

/**
 * The CHAT stream's limits. message-writer owns CHAT and moves it to these
 * at every start; a gateway uses them only when it creates CHAT itself (it
 * started first). Give both the same values.
 */
export const chatStream = {
  CHAT_STREAM_MAX_AGE_DAYS: Type.Integer({ minimum: 0, default: 30, description: 'days CHAT keeps a message, 0 for ever (PostgreSQL keeps the history; more than the longest writer outage)' }),
  CHAT_STREAM_MAX_BYTES: Type.Integer({ minimum: -1, default: -1, description: 'bytes CHAT may hold, -1 for no limit (full, it refuses new messages)' })
}

/** CHAT_STREAM_* as chatStream()'s limits. */
export const chatStreamLimits = (config: { CHAT_STREAM_MAX_AGE_DAYS: number, CHAT_STREAM_MAX_BYTES: number }): { maxAgeMs: number, maxBytes: number } =>
  ({ maxAgeMs: config.CHAT_STREAM_MAX_AGE_DAYS * 24 * 60 * 60 * 1000, maxBytes: config.CHAT_STREAM_MAX_BYTES })

/**
 * Slow clients (slowloris): a connection that has not sent its whole
 * request in time is answered 408 and closed, so trickled headers cannot
 * hold the server's sockets. Fastify sets no request timeout of its own.
 */
const HttpHeadersTimeoutMs = Type.Integer({ minimum: 100, default: 10_000, description: 'milliseconds a client has to send a request\'s headers (beyond: 408, closed)' })
const HttpRequestTimeoutMs = Type.Integer({ minimum: 100, default: 30_000, description: 'milliseconds a client has to send a whole request, body included (beyond: 408, closed)' })

/** HTTP_*_TIMEOUT_MS as createService's `http` option. */
export const httpTimeouts = (config: { HTTP_HEADERS_TIMEOUT_MS: number, HTTP_REQUEST_TIMEOUT_MS: number }): { headersTimeoutMs: number, requestTimeoutMs: number } =>
  ({ headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: Math.max(config.HTTP_REQUEST_TIMEOUT_MS, config.HTTP_HEADERS_TIMEOUT_MS) })

/** The variables every app reads. */
export const common = {
  HOST: Host,
  HTTP_HEADERS_TIMEOUT_MS: HttpHeadersTimeoutMs,
  HTTP_REQUEST_TIMEOUT_MS: HttpRequestTimeoutMs,
  NATS_URL: NatsUrl,
  // deploy/nats/permissions.conf gives each app its own user and subjects.
  NATS_USER: optionalText('the NATS user this app connects as (with NATS_PASSWORD)'),
  NATS_PASSWORD: optionalText('the password of NATS_USER'),
  NATS_CREDS_FILE: optionalText('a NATS .creds file (a user JWT and its nkey seed), instead of NATS_USER'),
  NATS_TLS_CA_FILE: optionalText('the CA certificate (PEM) that NATS servers\' TLS certificates are checked against'),
  NATS_NAMESPACE: NatsNamespace,
  NATS_STREAM_REPLICAS: NatsStreamReplicas,
  LOG_LEVEL: LogLevel,
  LOG_FORMAT: LogFormat
}

export const JwtIssuer = Type.String({ minLength: 1, default: 'metadome-auth', description: 'the iss claim of access tokens' })
export const JwtAudience = Type.String({ minLength: 1, default: 'metadome', description: 'the aud claim of access tokens' })
