import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { createDb, migrateToLatest } from '@metadome/db'
import { AUTH_SCHEMA, type AuthDatabase } from '../../db/database.js'
import { migrations } from '../../migrations/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    authDb: Kysely<AuthDatabase>
  }
}

export default fp(async function db (app: FastifyInstance, opts: { url: string }) {
  const db = createDb<AuthDatabase>({ url: opts.url, schema: AUTH_SCHEMA, applicationName: 'auth-api' })
  app.addHook('onClose', async () => { await db.destroy() })
  await migrateToLatest(db, AUTH_SCHEMA, migrations)
  app.decorate('authDb', db)
}, { name: 'auth-db' })
