import { createDb } from './create-db.js'
import { migrateToLatest, type Migrations } from './migrate.js'

/**
 * Body of each app's `migrate` command: migrate, print what ran, exit 0; or
 * one line on stderr and exit 1.
 */
export async function migrateCommand (url: string, schema: string, migrations: Migrations): Promise<void> {
  const db = createDb({ url, schema, maxConnections: 1, applicationName: `migrate-${schema}` })
  try {
    const { results = [] } = await migrateToLatest(db, schema, migrations)
    for (const r of results) process.stdout.write(`schema ${schema}: ${r.migrationName} ${r.status === 'Success' ? 'applied' : r.status}\n`)
    if (results.length === 0) process.stdout.write(`schema ${schema}: up to date\n`)
  } catch (err) {
    process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  } finally {
    await db.destroy()
  }
}
