import type { Kysely } from 'kysely'
import { databasePlugin, pingDb } from '@metadome/db'
import type { ServiceOptions } from '@metadome/service'
import { CHAT_SCHEMA, type ChatDatabase } from '../../db/database.js'
import { migrations } from '../../migrations/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    chatDb: Kysely<ChatDatabase>
  }
}

/** message-writer's database: the `chat` schema, migrated at start, as app.chatDb. */
export function chatDatabase (url: string, maxConnections: number): NonNullable<ServiceOptions['database']> {
  return {
    register: async (app) => { await app.register(databasePlugin, { url, schema: CHAT_SCHEMA, migrations, applicationName: 'message-writer', maxConnections, decorate: 'chatDb' }) },
    ping: async (app) => { await pingDb(app.chatDb) }
  }
}
