import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

const seconds = (defaultValue: number, minimum: number, description: string) =>
  Type.Integer({ minimum, default: defaultValue, description })

export const AuthConfig = Type.Object({
  ...env.common,
  PORT: env.port(3000),
  DATABASE_URL: env.DatabaseUrl,
  JWT_ISSUER: env.JwtIssuer,
  JWT_AUDIENCE: env.JwtAudience,
  JWT_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'the path of a PEM file holding an Ed25519 private key' })),
  JWT_NEXT_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'the path of a PEM file holding an Ed25519 key (private or public)' })),
  DATA_DIR: Type.String({ minLength: 1, default: '.data', description: 'a directory for generated state' }),
  BCRYPT_COST: Type.Integer({ minimum: 4, maximum: 31, default: 12, description: 'a bcrypt cost from 4 to 31' }),
  // Read by libuv, not by us; we read it to know how many hashes may run at once.
  UV_THREADPOOL_SIZE: Type.Integer({ minimum: 1, maximum: 1024, default: 4, description: 'a thread count from 1 to 1024' }),
  // At most an hour: a starting gateway learns ended sessions from the last
  // hour of USERS events (chat-gateway user-events.ts), so a longer-lived
  // token of a session that ended before could be taken again there.
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 3600, default: 15 * 60, description: 'a number of seconds, from 10 to 3600' }),
  REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 24 * 3600, 60, 'a number of seconds, at least 60'),
  REFRESH_GRACE_SECONDS: seconds(10, 0, 'a number of seconds, 0 or more'),
  // A session's absolute lifetime: refreshing extends it up to this, never beyond.
  SESSION_MAX_AGE_SECONDS: seconds(30 * 24 * 3600, 1, 'a whole number of seconds, at least 1'),
  AUTH_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 20, description: 'a whole number of requests, at least 1' }),
  CORS_ORIGINS: Type.String({ default: '', pattern: '^(?:\\*|(?:https?://[^\\s,]+)(?:,https?://[^\\s,]+)*)?$', description: 'comma-separated origins such as https://chat.example.com, or *' }),
  // Mail (DESIGN.md "Accounts"): with SMTP_URL unset, mails are not sent;
  // MAIL_TO_LOG=true (npm start sets it) writes them, links and all, to the
  // log instead, so that a person on one machine can follow them. Off by
  // default: a deployment that forgot SMTP_URL must not log reset links.
  MAIL_TO_LOG: Type.Union([Type.Literal('false'), Type.Literal('true')], { default: 'false', description: 'true to write each mail, links included, to the log when SMTP_URL is unset (one machine only)' }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://\\S+$', description: 'an smtp:// or smtps:// URL (credentials may be in it)', sensitive: true })),
  MAIL_FROM: Type.String({ minLength: 3, default: 'metadome <no-reply@localhost>', description: 'the From of mails, such as "metadome <no-reply@example.com>"' }),
  PUBLIC_URL: Type.String({ pattern: '^https?://[^\\s/]+(?:/\\S*)?$', default: 'http://localhost:3003', description: 'the http(s) address of the browser client: mailed links point there' }),
  // Passkeys: unset, both follow PUBLIC_URL (its host name, its origin).
  WEBAUTHN_RP_ID: Type.Optional(Type.String({ pattern: '^[a-z0-9.-]+$', description: 'the relying party id of passkeys: a host name such as example.com' })),
  WEBAUTHN_RP_NAME: Type.String({ minLength: 1, default: 'metadome', description: 'the name authenticators show' }),
  WEBAUTHN_ORIGINS: Type.Optional(Type.String({ pattern: '^https?://[^\\s,/]+(?:,https?://[^\\s,/]+)*$', description: 'comma-separated origins passkeys may be used from, such as https://chat.example.com' })),
  TRUST_PROXY: Type.String({ default: 'false', pattern: '^(?:true|false|[0-9a-fA-F.:/]+(?:,[0-9a-fA-F.:/]+)*)$', description: 'false, true (trust every proxy), or comma-separated proxy addresses or CIDRs' })
})
export type AuthConfig = Static<typeof AuthConfig>

/** TRUST_PROXY as Fastify's trustProxy option. */
export function trustProxy (value: string): boolean | string {
  if (value === 'true') return true
  if (value === 'false') return false
  return value
}

/** The relying party of passkeys: from WEBAUTHN_* or, unset, from PUBLIC_URL. */
export function relyingParty (config: Pick<AuthConfig, 'PUBLIC_URL' | 'WEBAUTHN_RP_ID' | 'WEBAUTHN_RP_NAME' | 'WEBAUTHN_ORIGINS'>): { id: string, name: string, origins: string[] } {
  const publicUrl = new URL(config.PUBLIC_URL)
  return {
    id: config.WEBAUTHN_RP_ID ?? publicUrl.hostname,
    name: config.WEBAUTHN_RP_NAME,
    origins: config.WEBAUTHN_ORIGINS?.split(',') ?? [publicUrl.origin]
  }
}

/** CORS_ORIGINS as @fastify/cors's origin option: false (no CORS), true (any) or a list. */
export function corsOrigins (value: string): boolean | string[] {
  if (value === '') return false
  if (value === '*') return true
  return value.split(',')
}
