import Type from 'typebox'
import { loadConfigOrExit, env } from '@metadome/config'
import { migrateCommand } from '@metadome/db'
import { CHAT_SCHEMA } from './db/database.js'
import { migrations } from './migrations/index.js'

const config = loadConfigOrExit(Type.Object({ DATABASE_URL: env.DatabaseUrl }), process.env)
await migrateCommand(config.DATABASE_URL, CHAT_SCHEMA, migrations)
