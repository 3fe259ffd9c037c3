export { createDb, pingDb, type DbConfig } from './create-db.js'
export { migrateToLatest, MigrationError, type Migrations } from './migrate.js'
export { migrateCommand } from './migrate-command.js'
export { databasePlugin, type DatabasePluginOptions } from './plugin.js'
