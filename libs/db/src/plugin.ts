import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createDb, type DbConfig } from './create-db.js'
import { migrateToLatest, type Migrations } from './migrate.js'

export interface DatabasePluginOptions extends DbConfig {
  /** The app's migrations, run to the latest at start (idempotent, safe with replicas starting at once). */
  migrations: Migrations
  /** The FastifyInstance property the Kysely instance is decorated as; the app declares its type. */
  decorate: string
}

/**
 * An app's database: its schema migrated at start, then a Kysely instance
 * on the app, destroyed when the app closes (after the plugins registered
 * later, which may still use it while closing).
 */
export const databasePlugin = fp(async function database (app: FastifyInstance, opts: DatabasePluginOptions) {
  const { migrations, decorate, ...config } = opts
  const db = createDb<unknown>(config)
  app.addHook('onClose', async () => { await db.destroy() })
  await migrateToLatest(db, config.schema, migrations)
  app.decorate(decorate, db)
}, { name: 'metadome-db' })
