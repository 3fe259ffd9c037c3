// `npm run chaos -- --seconds N`: the cluster of `npm run cluster` (three
// NATS nodes at R3, auth-api, three gateways behind a load balancer, two
// writers) on its own embedded PostgreSQL, SDK clients sending direct and
// group texts through the load balancer, and every fault of faults.ts in turn.
// One writer has failpoints armed (it crashes before and after commits).
// Prints one table; exits 1 on any loss or duplicate.
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createTeardown, freePorts, startStack } from '@metadome/testing'
import { startEmbeddedPostgres } from './start/embedded-postgres.js'
import { crashSupervisor, runChaos } from './chaos/run.js'
import { everyFault } from './chaos/faults.js'
import { formatReport } from './chaos/verify.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const say = (line: string): void => { process.stdout.write(`${line}\n`) }

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    users: { type: 'string', default: '6' },
    help: { type: 'boolean', default: false }
  }
})
if (values.help) {
  say('npm run chaos -- [--seconds N (120)] [--users N (6)]')
  process.exit(0)
}
const seconds = Number(values.seconds)
const users = Number(values.users)
if (!Number.isInteger(seconds) || seconds < 10) throw new Error('--seconds takes a whole number of at least 10')
if (!Number.isInteger(users) || users < 3) throw new Error('--users takes a whole number of at least 3')

const dataDir = join(resolve(process.env.METADOME_DATA_DIR ?? join(root, '.data')), 'chaos')
const namespace = 'chaos'
const t = createTeardown()
const supervisor = crashSupervisor(say)
let code = 1

async function main (): Promise<void> {
  // A fresh cluster each run: a new CHAT stream starts at seq 1, which rows of an old one would contradict.
  await rm(dataDir, { recursive: true, force: true })
  const [pgPort = 0] = await freePorts(1)
  const database = await startEmbeddedPostgres(dataDir, pgPort, (line) => { say(`postgres: ${line}`) })
  t.teardown(async () => { await database.stop() })
  const logFile = createWriteStream(join(dataDir, 'processes.log'))
  t.teardown(async () => { await new Promise((resolve) => logFile.end(resolve)) })

  say('starting 3 NATS nodes, auth-api, 3 gateways behind a load balancer and 2 writers ...')
  const stack = await startStack(t, {
    databaseUrl: database.url,
    env: { NATS_NAMESPACE: namespace, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', BCRYPT_COST: '8', DATA_DIR: dataDir },
    envOf: (name) => name === 'message-writer-1' ? { METADOME_FAILPOINTS: 'writer.before-commit=0.01,writer.after-commit=0.01' } : {},
    nats: { dir: join(dataDir, 'nats') },
    onLine: (name, line) => { logFile.write(`${name} | ${line}\n`) },
    onExit: supervisor.onExit,
    log: (line) => { logFile.write(`${line}\n`) }
  })
  supervisor.attach(stack)
  say(`load balancer (${stack.loadBalancer.kind}) ${stack.loadBalancer.wsUrl}; logs in ${join(dataDir, 'processes.log')}`)
  say(`${seconds} s of traffic from ${users} users; faults:`)

  const report = await runChaos({
    stack,
    namespace,
    databaseUrl: database.url,
    restartDatabase: database.restart,
    seconds,
    users,
    faults: everyFault(),
    log: say
  })
  supervisor.stop()
  say('')
  say(formatReport(report))
  code = report.ok ? 0 : 1
}

main()
  .catch((err: unknown) => { say(`chaos run failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`) })
  .finally(async () => {
    supervisor.stop()
    await t.run().catch((err: unknown) => { say(`stopping: ${String(err)}`) })
    process.exit(code)
  })
