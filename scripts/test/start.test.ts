import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
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

/** The browser client's page at `url`: its status, content-type and body. */
async function page (url: string): Promise<{ status: number, type: string, body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
  } catch {
    return undefined
  }
}

/** The first of `count` consecutive ports from 20,000 to 32,000 (below Linux's ephemeral range) that are all free now. */
async function freeRun (count: number): Promise<number> {
  const free = async (port: number): Promise<boolean> => await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000)
    if ((await Promise.all(Array.from({ length: count }, async (_, i) => await free(base + i)))).every(Boolean)) return base
  }
}

t.test('npm start brings the stack to ready on a fresh data folder and reuses it the second time', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'metadome-start-'))
  // Consecutive app ports from the base (auth-api, the gateway, the writer,
  // the web client), below the ephemeral range: there no outgoing connection
  // of another test takes one between the check and the listen (CI saw the
  // web client's EADDRINUSE). PostgreSQL and NATS take ephemeral ones.
  const basePort = await freeRun(4)
  const pgPort = await freePort()
  let natsPort = await freePort()
  while (natsPort === pgPort) natsPort = await freePort()
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
  // The web client at base + 3: its URL printed, its page served.
  t.match(first.output(), new RegExp(`web client +http://127\\.0\\.0\\.1:${basePort + 3}\\b`), 'prints the web client\'s URL')
  const web1 = await page(`http://127.0.0.1:${basePort + 3}/`)
  t.equal(web1?.status, 200, 'the web client answers')
  t.match(web1?.type, /^text\/html/, 'with an HTML page')
  t.match(web1?.body, /<title>metadome<\/title>/, 'the app\'s title')
  t.match(web1?.body, /<script type="module" src="\/app\.[^"]+\.js"><\/script>/, 'and its script')

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
  // The web client at base + 3: its URL printed, its page served.
  t.match(second.output(), new RegExp(`web client +http://127\\.0\\.0\\.1:${basePort + 3}\\b`), 'prints the web client\'s URL again')
  const web2 = await page(`http://127.0.0.1:${basePort + 3}/`)
  t.equal(web2?.status, 200, 'the web client answers again')
  t.match(web2?.type, /^text\/html/, 'with an HTML page again')
  t.match(web2?.body, /<title>metadome<\/title>/, 'the app\'s title again')
  t.match(web2?.body, /<script type="module" src="\/app\.[^"]+\.js"><\/script>/, 'and its script again')
  await deleteNamespace(env.NATS_URL, namespace)
  second.child.kill('SIGTERM')
  t.equal(await second.exit, 0)
})
