import Type, { type Static } from 'typebox'
import { loadConfig, env } from '@metadome/config'

// What `npm start` itself reads, through the loader the apps use, so that it
// follows the same rules (DESIGN.md "Operating it"): an empty variable counts
// as unset (`DATABASE_URL=` embeds a PostgreSQL, `METADOME_BASE_PORT=` is
// 3000), and a wrong value stops it with one line naming the variable.

const wholeNumber = (defaultValue: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, default: defaultValue, description })

export const StartConfig = Type.Object({
  METADOME_DATA_DIR: Type.Optional(Type.String({ minLength: 1, description: 'a folder for the data' })),
  // The apps take base, +1 and +2, further gateways +4, +5, …: leave room above it.
  METADOME_BASE_PORT: wholeNumber(3000, 1, 65000, 'a port number from 1 to 65000'),
  METADOME_PG_PORT: wholeNumber(54329, 1, 65535, 'a port number from 1 to 65535'),
  METADOME_GATEWAYS: wholeNumber(1, 1, 64, 'a whole number of gateways from 1 to 64'),
  HOST: env.Host,
  NATS_URL: env.NatsUrl,
  DATABASE_URL: Type.Optional(env.DatabaseUrl),
  LOG_FORMAT: env.LogFormat,
  UV_THREADPOOL_SIZE: Type.Optional(Type.String({ description: 'the number of libuv threads' }))
})
export type StartConfig = Static<typeof StartConfig>

/** Throws a ConfigError (one line naming the variable) for a wrong value. */
export function startConfig (vars: Record<string, string | undefined>): StartConfig {
  return loadConfig(StartConfig, vars)
}

/**
 * The LOG_FORMAT the apps get. Their output is a pipe into this script, so
 * `auto` there would always pick JSON: decide it here, from this script's
 * own stdout, pretty on a terminal and JSON when piped.
 */
export function appLogFormat (format: string, stdoutIsTTY: boolean): 'json' | 'pretty' {
  if (format === 'json' || format === 'pretty') return format
  return stdoutIsTTY ? 'pretty' : 'json'
}
