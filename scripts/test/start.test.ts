import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort, until, deleteNamespace } from '@metadome/testing'

// `npm start` as a user runs it (the script npm runs, minus npm itself, so the
// test can signal it directly): embedded PostgreSQL in a fresh data folder, a
// nats-server it starts itself because nothing answers at NATS_URL, all three
// apps to ready, a clean stop, and a second start that reuses the data.
// DATABASE_URL and LOG_FORMAT are set but empty, which counts as unset: the
// database is embedded, and the apps log JSON because this output is a pipe.

interface Started { child: ChildProcess, output: () => string, exit: Promise<number | null> }

function start (env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@metadome/source', 'scripts/start.ts'], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exit }
}

async function answers (url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).status
  } catch {
    return undefined
  }
}

t.test('npm start brings the stack to ready on a fresh data folder and reuses it the second time', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'metadome-start-'))
  // Three consecutive app ports from the base; the others must not fall among them.
  const basePort = await freePort()
  let pgPort = await freePort()
  let natsPort = await freePort()
  while (pgPort - basePort <= 2 && pgPort >= basePort) pgPort = await freePort()
  while ((natsPort - basePort <= 2 && natsPort >= basePort) || natsPort === pgPort) natsPort = await freePort()
  const namespace = `start${natsPort}`
  const env = {
    METADOME_DATA_DIR: dataDir,
    METADOME_BASE_PORT: String(basePort),
    METADOME_PG_PORT: String(pgPort),
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    NATS_NAMESPACE: namespace,
    DATABASE_URL: '',
    LOG_FORMAT: ''
  }
  const running: Started[] = []
  t.teardown(async () => {
    for (const r of running) if (r.child.exitCode === null) { r.child.kill('SIGTERM'); await r.exit }
    await rm(dataDir, { recursive: true, force: true })
  })

  const first = start(env)
  running.push(first)
  await until(() => first.output().includes('press Ctrl-C to stop') || first.child.exitCode !== null, 120_000, 'the first start')
  t.equal(first.child.exitCode, null, 'still running', { output: first.output() })
  t.match(first.output(), /initialising PostgreSQL/, 'an empty DATABASE_URL embeds PostgreSQL')
  t.notMatch(first.output(), /using DATABASE_URL/)
  // auth-api warns that it made its own signing key: a JSON line, prefixed.
  t.match(first.output(), /^auth-api +\| \{"level":40,.*"name":"auth-api"/m, 'the apps log JSON lines into a pipe')
  t.match(first.output(), /starting nats-server.* with JetStream on 127\.0\.0\.1:\d+/)
  for (const port of [basePort, basePort + 1, basePort + 2]) {
    t.equal(await answers(`http://127.0.0.1:${port}/readyz`), 200, `port ${port} is ready`)
  }

  // Leave something in the database to find after the restart.
  const { password } = JSON.parse(await readFile(join(dataDir, 'postgres.json'), 'utf8')) as { password: string }
  const url = `postgres://postgres:${password}@127.0.0.1:${pgPort}/metadome`
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  await db.query('create table public.restart_marker (note text)')
  await db.query("insert into public.restart_marker values ('still here')")
  await db.end()

  first.child.kill('SIGTERM')
  t.equal(await first.exit, 0, 'stops cleanly')
  t.match(first.output(), /stopped/)
  t.equal(await answers(`http://127.0.0.1:${basePort}/healthz`), undefined, 'auth-api is gone')
  t.equal(await answers(`http://127.0.0.1:${natsPort}`), undefined, 'the nats-server it started is gone')

  const second = start(env)
  running.push(second)
  await until(() => second.output().includes('press Ctrl-C to stop') || second.child.exitCode !== null, 120_000, 'the second start')
  t.equal(second.child.exitCode, null, 'still running', { output: second.output() })
  t.match(second.output(), /reusing PostgreSQL data/)
  t.notMatch(second.output(), /initialising PostgreSQL/)
  const again = new pg.Client({ connectionString: url })
  await again.connect()
  const { rows } = await again.query('select note from public.restart_marker')
  await again.end()
  t.same(rows, [{ note: 'still here' }])
  for (const port of [basePort, basePort + 1, basePort + 2]) {
    t.equal(await answers(`http://127.0.0.1:${port}/readyz`), 200, `port ${port} is ready again`)
  }
  await deleteNamespace(env.NATS_URL, namespace)
  second.child.kill('SIGTERM')
  t.equal(await second.exit, 0)
})
