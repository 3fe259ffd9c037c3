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
  ACCESS_TOKEN_TTL_SECONDS: seconds(15 * 60, 10, 'a number of seconds, at least 10'),
  REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 24 * 3600, 60, 'a number of seconds, at least 60'),
  REFRESH_GRACE_SECONDS: seconds(10, 0, 'a number of seconds, 0 or more'),
  // A session's absolute lifetime: refreshing extends it up to this, never beyond.
  SESSION_MAX_AGE_SECONDS: seconds(30 * 24 * 3600, 1, 'a whole number of seconds, at least 1'),
  AUTH_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 20, description: 'a whole number of requests, at least 1' }),
  CORS_ORIGINS: Type.String({ default: '', pattern: '^(?:\\*|(?:https?://[^\\s,]+)(?:,https?://[^\\s,]+)*)?$', description: 'comma-separated origins such as https://chat.example.com, or *' }),
  TRUST_PROXY: Type.String({ default: 'false', pattern: '^(?:true|false|[0-9a-fA-F.:/]+(?:,[0-9a-fA-F.:/]+)*)$', description: 'false, true (trust every proxy), or comma-separated proxy addresses or CIDRs' })
})
export type AuthConfig = Static<typeof AuthConfig>

/** TRUST_PROXY as Fastify's trustProxy option. */
export function trustProxy (value: string): boolean | string {
  if (value === 'true') return true
  if (value === 'false') return false
  return value
}

/** CORS_ORIGINS as @fastify/cors's origin option: false (no CORS), true (any) or a list. */
export function corsOrigins (value: string): boolean | string[] {
  if (value === '') return false
  if (value === '*') return true
  return value.split(',')
}
