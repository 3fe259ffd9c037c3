import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { createDb, migrateToLatest } from '@metadome/db'
import { CHAT_SCHEMA, type ChatDatabase } from '../../db/database.js'
import { migrations } from '../../migrations/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    chatDb: Kysely<ChatDatabase>
  }
}

export default fp(async function db (app: FastifyInstance, opts: { url: string, maxConnections?: number }) {
  const db = createDb<ChatDatabase>({ url: opts.url, schema: CHAT_SCHEMA, applicationName: 'message-writer', maxConnections: opts.maxConnections })
  app.addHook('onClose', async () => { await db.destroy() })
  await migrateToLatest(db, CHAT_SCHEMA, migrations)
  app.decorate('chatDb', db)
}, { name: 'chat-db' })
