import pg from 'pg'
import { Kysely, PostgresDialect, sql } from 'kysely'

// int8 columns (stream sequences, counters) arrive as strings by default. Every
// int8 we store stays below 2^53, so numbers are safe and far easier to use.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

export interface DbConfig {
  url: string
  /** The PostgreSQL schema this app owns (`auth`, `chat`); every table lives in it. */
  schema: string
  maxConnections?: number
  applicationName?: string
}

/**
 * A Kysely instance whose unqualified table names resolve to `config.schema`,
 * so two apps can share one database without seeing each other's tables.
 */
export function createDb<DB> (config: DbConfig): Kysely<DB> {
  if (!/^[a-z_][a-z0-9_]*$/.test(config.schema)) throw new Error(`invalid schema name ${config.schema}`)
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.maxConnections ?? 10,
    application_name: config.applicationName ?? config.schema,
    connectionTimeoutMillis: 5_000,
    // withSchema() below qualifies what Kysely builds; search_path makes raw
    // sql`` fragments resolve to the same schema.
    options: `-c search_path=${config.schema}`
  })
  // An idle client that loses its server emits 'error' on the pool; without a
  // listener that would crash the process instead of failing one query later.
  pool.on('error', () => {})
  // pg-pool takes that listener off a client it hands out. A client lost
  // while checked out but between queries (inside a transaction, say: a
  // PostgreSQL restart) emits 'error' itself, which would then crash the
  // process; its next query fails instead, and the pool discards it on release.
  pool.on('connect', (client) => { client.on('error', () => {}) })
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }).withSchema(config.schema)
}

/** Resolves when the database answers a trivial query. */
export async function pingDb<DB> (db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db)
}
