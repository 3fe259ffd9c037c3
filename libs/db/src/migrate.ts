import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely'

export type Migrations = Record<string, Migration>

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/**
 * Brings `schema` to the newest migration. The bookkeeping tables live in the
 * same schema, so each app migrates on its own; Kysely's advisory lock makes
 * concurrent runs (several replicas starting at once) safe.
 */
export async function migrateToLatest (
  db: Kysely<any>, // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped by design: frozen in time
  schema: string,
  migrations: Migrations
): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    migrationTableSchema: schema,
    provider: { getMigrations: async () => migrations }
  })
  const result = await migrator.migrateToLatest()
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new MigrationError(`migration ${failed} of schema ${schema} failed: ${String(result.error)}`, { cause: result.error })
  }
  return result
}
