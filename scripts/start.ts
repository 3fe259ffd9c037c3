// `npm start`: the whole stack on one machine (DESIGN.md "Operating it").
//
//   1. PostgreSQL: DATABASE_URL if set, else an embedded one under the data folder
//      (an empty variable counts as unset, here as in the apps: start/settings.ts)
//   2. NATS: NATS_URL if it answers, else a nats-server from the PATH
//   3. migrations of every schema
//   4. auth-api, message-writer, METADOME_GATEWAYS chat-gateways and the
//      browser client's server (apps/web, at base + 3) as child processes,
//      each until its /readyz answers
//
// Ctrl-C (or SIGTERM) stops the apps (they drain), then what step 1 and 2 started.
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { startEmbeddedPostgres, type LocalDatabase } from './start/embedded-postgres.js'
import { ensureNats, type LocalNats } from './start/local-nats.js'
import { spawnApp, waitReady, stopApp, type AppProcess } from './start/app-process.js'
import { startConfig, appLogFormat } from './start/settings.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const env = process.env

const say = (line: string): void => { process.stdout.write(`${'metadome'.padEnd(16)}| ${line}\n`) }

let database: LocalDatabase | undefined
let nats: LocalNats | undefined
const apps: AppProcess[] = []
let stopping = false

async function shutdown (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    say('stopping ...')
    await Promise.all(apps.map(async (app) => { await stopApp(app, 15_000) }))
    await nats?.stop?.()
    await database?.stop()
    say('stopped')
  }
  process.exit(code)
}
// embedded-postgres hooks these signals to stop its server and exit at once,
// before the apps have drained into it. We stop it ourselves, last.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal)
process.on('SIGINT', () => { void shutdown(0) })
process.on('SIGTERM', () => { void shutdown(0) })
process.on('SIGHUP', () => { void shutdown(0) })

function migrate (name: string, entry: string, databaseUrl: string): void {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@metadome/source', entry], {
    env: { ...env, DATABASE_URL: databaseUrl },
    encoding: 'utf8'
  })
  for (const line of `${result.stdout}${result.stderr}`.split('\n').filter((l) => l !== '')) say(`${name}: ${line}`)
  if (result.status !== 0) throw new Error(`migrations of ${name} failed`)
}

async function main (): Promise<void> {
  const config = startConfig(env)
  const dataDir = resolve(config.METADOME_DATA_DIR ?? join(root, '.data'))
  const basePort = config.METADOME_BASE_PORT
  const gatewayCount = config.METADOME_GATEWAYS
  const host = config.HOST
  const databaseUrl = config.DATABASE_URL ?? (database = await startEmbeddedPostgres(dataDir, config.METADOME_PG_PORT, say)).url
  if (config.DATABASE_URL !== undefined) say('using DATABASE_URL')
  nats = await ensureNats(config.NATS_URL, dataDir, say)

  migrate('auth-api', join(root, 'apps/auth-api/src/migrate.ts'), databaseUrl)
  migrate('message-writer', join(root, 'apps/message-writer/src/migrate.ts'), databaseUrl)

  const authUrl = `http://${host}:${basePort}`
  const common = {
    ...env,
    HOST: host,
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    AUTH_URL: authUrl,
    DATA_DIR: dataDir,
    LOG_FORMAT: appLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true)
  }
  // base + 3 is the browser client's (DESIGN.md "Browser client"): further gateways from base + 4.
  const gatewayPorts = Array.from({ length: gatewayCount }, (_, i) => i === 0 ? basePort + 1 : basePort + 3 + i)
  const webPort = basePort + 3
  const plan = [
    // libuv reads UV_THREADPOOL_SIZE once at process start; bcrypt hashes run
    // there, one per core, with room left for file and DNS work.
    // Mails go to its log (no SMTP server here), their links to the browser
    // client on this machine: localhost, as passkeys refuse an IP address.
    { name: 'auth-api', entry: 'apps/auth-api/src/server.ts', port: basePort, env: { UV_THREADPOOL_SIZE: config.UV_THREADPOOL_SIZE ?? String(availableParallelism() + 4), MAIL_TO_LOG: 'true', PUBLIC_URL: `http://localhost:${webPort}` } },
    { name: 'message-writer', entry: 'apps/message-writer/src/server.ts', port: basePort + 2 },
    ...gatewayPorts.map((port, i) => ({ name: gatewayCount === 1 ? 'chat-gateway' : `chat-gateway-${i + 1}`, entry: 'apps/chat-gateway/src/server.ts', port })),
    // The page reaches auth-api and every gateway through it (apps/web/README.md).
    { name: 'web', entry: 'apps/web/src/server.ts', port: webPort, env: { WEB_AUTH_URL: authUrl, WEB_GATEWAY_URL: gatewayPorts.map((port) => `http://${host}:${port}`).join(',') } }
  ]

  for (const [i, p] of plan.entries()) {
    const app = spawnApp(p.name, join(root, p.entry), { ...common, ...('env' in p ? p.env : {}), PORT: String(p.port) }, i)
    apps.push(app)
    void app.exited.then((code) => {
      if (stopping) return
      say(`${p.name} exited unexpectedly (code ${String(code)}); stopping everything`)
      void shutdown(1)
    })
  }
  await Promise.all(apps.map(async (app, i) => { await waitReady(app, `http://${host}:${plan[i]?.port ?? 0}/readyz`, 90_000) }))

  say('ready:')
  say(`  auth-api        ${authUrl}  (API docs ${authUrl}/docs)`)
  for (const port of gatewayPorts) say(`  chat-gateway    ws://${host}:${port}/v1/ws`)
  say(`  message-writer  http://${host}:${basePort + 2}/metrics`)
  say(`  web client      http://${host}:${webPort}  (open it in a browser)`)
  say(`  data            ${dataDir}`)
  say('press Ctrl-C to stop')
}

main().catch(async (err: unknown) => {
  say(`cannot start: ${err instanceof Error ? err.message : String(err)}`)
  await shutdown(1)
})
