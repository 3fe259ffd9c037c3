import type { Kysely } from 'kysely'
import { databasePlugin, pingDb } from '@metadome/db'
import type { ServiceOptions } from '@metadome/service'
import { AUTH_SCHEMA, type AuthDatabase } from '../../db/database.js'
import { migrations } from '../../migrations/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    authDb: Kysely<AuthDatabase>
  }
}

/** auth-api's database: the `auth` schema, migrated at start, as app.authDb. */
export function authDatabase (url: string): NonNullable<ServiceOptions['database']> {
  return {
    register: async (app) => { await app.register(databasePlugin, { url, schema: AUTH_SCHEMA, migrations, applicationName: 'auth-api', decorate: 'authDb' }) },
    ping: async (app) => { await pingDb(app.authDb) }
  }
}
