// `npm run cluster`: the deployment of DESIGN.md "Cluster and trust between
// services" on one machine, as processes on loopback:
//
//   - three nats-server nodes in one JetStream cluster (from the PATH), every
//     stream and durable consumer at three replicas (NATS_STREAM_REPLICAS=3)
//   - auth-api, three chat-gateways behind a load balancer that passes
//     WebSockets (HAProxy if it is on the PATH, else a Node TCP proxy), and
//     two message-writers
//   - the PostgreSQL of `npm start` (DATABASE_URL, else the embedded one
//     under the data folder), in a database of its own: <name>_cluster
//
// Ctrl-C (or SIGTERM) stops everything: the apps drain first, NATS goes last.
import { spawnSync } from 'node:child_process'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTeardown, startStack, type NatsNodePorts } from '@metadome/testing'
import { startEmbeddedPostgres, ensureDatabase } from './start/embedded-postgres.js'
import { HOW_TO_GET_NATS } from './start/local-nats.js'
import { startConfig, appLogFormat } from './start/settings.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const say = (line: string): void => { process.stdout.write(`${'cluster'.padEnd(17)}| ${line}\n`) }
const t = createTeardown()
let stopping = false

async function stop (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    say('stopping ...')
    await t.run().catch((err: unknown) => { say(`while stopping: ${String(err)}`) })
    say('stopped')
  }
  process.exit(code)
}
// embedded-postgres hooks these signals to stop its server at once, before
// the apps have drained into it: the teardown stops it, last.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.removeAllListeners(signal)
  process.on(signal, () => { void stop(0) })
}

/** The same server and credentials as `url`, database `<name>_cluster`: the cluster's streams start at seq 1, as no other's rows expect. */
function clusterDatabaseUrl (url: string): string {
  const u = new URL(url)
  u.pathname = `/${decodeURIComponent(u.pathname.slice(1)) || 'metadome'}_cluster`
  return u.toString()
}

async function main (): Promise<void> {
  const config = startConfig(process.env)
  const dataDir = resolve(config.METADOME_DATA_DIR ?? join(root, '.data'))
  const base = config.METADOME_BASE_PORT
  const host = config.HOST
  if (spawnSync(process.env.NATS_SERVER_BIN ?? 'nats-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    say(HOW_TO_GET_NATS.replace('No NATS server answers at NATS_URL and no nats-server', 'No nats-server'))
    process.exit(1)
  }

  let databaseUrl: string
  if (config.DATABASE_URL !== undefined) {
    databaseUrl = clusterDatabaseUrl(config.DATABASE_URL)
    say(`using DATABASE_URL's server, database ${new URL(databaseUrl).pathname.slice(1)}`)
  } else {
    const embedded = await startEmbeddedPostgres(dataDir, config.METADOME_PG_PORT, say, 'metadome_cluster')
    t.teardown(async () => { await embedded.stop() })
    databaseUrl = embedded.url
  }
  await ensureDatabase(databaseUrl)

  // Ports from the base as in `npm start` (auth-api at base, the gateways'
  // address at base + 1), NATS from base + 10.
  const nats: NatsNodePorts[] = [0, 1, 2].map((i) => ({ client: base + 10 + i, cluster: base + 20 + i, monitor: base + 30 + i }))
  const logFormat = appLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true)
  say('starting 3 NATS nodes, auth-api, 3 gateways behind a load balancer and 2 writers ...')
  const stack = await startStack(t, {
    databaseUrl,
    host,
    replicas: 3,
    env: { DATA_DIR: dataDir, LOG_FORMAT: logFormat },
    ports: { authApi: base, loadBalancer: base + 1, writers: [base + 2, base + 7], gateways: [base + 4, base + 5, base + 6], nats },
    nats: { dir: join(dataDir, 'cluster', 'nats'), name: 'metadome' },
    loadBalancer: { dir: join(dataDir, 'cluster') },
    onLine: (name, line) => { process.stdout.write(`${name.padEnd(17)}| ${line}\n`) },
    onExit: (name, exit) => {
      if (!exit.expected && !stopping) say(`${name} exited (${exit.signal ?? `code ${String(exit.code)}`}); the others go on`)
    },
    log: say
  })

  say('ready:')
  say(`  auth-api        ${stack.authApi.url}  (API docs ${stack.authApi.url}/docs)`)
  say(`  gateways        ${stack.loadBalancer.wsUrl}  (${stack.loadBalancer.kind} over ${stack.gateways.map((g) => g.port).join(', ')})`)
  say(`  writers         ${stack.writers.map((w) => `${w.url}/metrics`).join('  ')}`)
  say(`  NATS            ${stack.nats.url}  (monitoring ${stack.nats.nodes.map((n) => n.monitorPort).join(', ')})`)
  say(`  data            ${dataDir}`)
  say('press Ctrl-C to stop')
}

main().catch(async (err: unknown) => {
  say(`cannot start: ${err instanceof Error ? err.message : String(err)}`)
  await stop(1)
})
