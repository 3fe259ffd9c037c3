import Type from 'typebox'
import { loadConfigOrExit, env } from '@metadome/config'
import { migrateCommand } from '@metadome/db'
import { AUTH_SCHEMA } from './db/database.js'
import { migrations } from './migrations/index.js'

const config = loadConfigOrExit(Type.Object({ DATABASE_URL: env.DatabaseUrl }), process.env)
await migrateCommand(config.DATABASE_URL, AUTH_SCHEMA, migrations)
