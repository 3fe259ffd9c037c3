// Login throughput against the bcrypt ceiling, measured in the same run.
//
//   npm run bench -w @metadome/auth-api
//
// 1. bcrypt alone: as many concurrent bcrypt.compare loops as auth-api lets
//    run at once (same cost, same libuv thread pool), for BENCH_SECONDS.
// 2. The real thing: auth-api listening on loopback, with its database and
//    NATS, and twice as many HTTP clients signing in with right passwords
//    for BENCH_SECONDS.
// A login costs one bcrypt compare, so (2) / (1) is the share of the bcrypt
// ceiling that logins reach; the target is at least 90 %. The two alternate
// in BENCH_ROUNDS rounds, so that other load on the machine weighs on both
// alike, and each rate is operations over the time they really took.
//
// Environment: BCRYPT_COST (12), BENCH_SECONDS (20 per side), BENCH_ROUNDS
// (4), UV_THREADPOOL_SIZE (set
// by the npm script to cores + 4), TEST_DATABASE_URL (an admin URL: a
// scratch database is created and dropped), NATS_URL.
import bcrypt from 'bcrypt'
import { availableParallelism } from 'node:os'
import type { AddressInfo } from 'node:net'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { createTestDatabase, createTestNamespace, testNatsUrl } from '@metadome/testing'
import { AuthConfig } from '../src/config.js'
import { buildApp } from '../src/app.js'
import { hashConcurrency, threadPoolSize } from '../src/lib/thread-pool.js'

const cost = Number(process.env.BCRYPT_COST ?? 12)
const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 4))
const pool = threadPoolSize(process.env)
const slots = hashConcurrency(pool)
const PASSWORD = 'benchmark passphrase 2026'

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.unshift(fn) } }

interface Tally { ops: number, ms: number }

/** Runs `work` from `workers` loops until `ms` have passed; counts what completed and the time it took. */
async function run (tally: Tally, workers: number, ms: number, work: () => Promise<void>): Promise<void> {
  const start = performance.now()
  const end = start + ms
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < end) {
      await work()
      tally.ops++
    }
  }))
  tally.ms += performance.now() - start
}

const rate = (t: Tally): number => t.ops / (t.ms / 1000)

async function bcryptLoop (): Promise<(tally: Tally, ms: number) => Promise<void>> {
  const hash = await bcrypt.hash(PASSWORD, cost)
  return async (tally, ms) => {
    await run(tally, slots, ms, async () => {
      if (!await bcrypt.compare(PASSWORD, hash)) throw new Error('bcrypt compare failed')
    })
  }
}

async function loginLoop (): Promise<{ loop: (tally: Tally, ms: number) => Promise<void>, failures: () => number }> {
  const natsUrl = testNatsUrl()
  const config = loadConfig(AuthConfig, {
    DATABASE_URL: await createTestDatabase(t, 'mdbench'),
    NATS_URL: natsUrl,
    NATS_NAMESPACE: createTestNamespace(t, natsUrl),
    BCRYPT_COST: String(cost),
    UV_THREADPOOL_SIZE: String(pool),
    AUTH_RATE_LIMIT_PER_MINUTE: String(1e9),
    DATA_DIR: '.data/bench',
    LOG_LEVEL: 'error'
  })
  const app = await buildApp(config, { logger: createLogger({ name: 'auth-api', level: 'error', format: 'json' }) })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const users = Array.from({ length: 2 * slots }, (_, i) => `bench${i}`)
  await Promise.all(users.map(async (username) => {
    const res = await fetch(`${base}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) })
    if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`)
  }))

  let failures = 0
  let next = 0
  return {
    failures: () => failures,
    loop: async (tally, ms) => {
      // Twice as many clients as hashing slots, so a slot never waits for a client.
      await run(tally, 2 * slots, ms, async () => {
        const username = users[next++ % users.length]
        const res = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) })
        await res.arrayBuffer()
        if (res.status !== 200) failures++
      })
    }
  }
}

try {
  console.log(`bcrypt cost ${cost}, UV_THREADPOOL_SIZE ${pool}, ${slots} hashes at once, ${availableParallelism()} cores, ${rounds} rounds of ${seconds / rounds} s each side, Node ${process.version}`)
  const ceilingLoop = await bcryptLoop()
  const login = await loginLoop()
  const ceiling: Tally = { ops: 0, ms: 0 }
  const logins: Tally = { ops: 0, ms: 0 }
  for (let r = 0; r < rounds; r++) {
    await ceilingLoop(ceiling, seconds * 1000 / rounds)
    await login.loop(logins, seconds * 1000 / rounds)
  }
  console.log(`bcrypt alone:   ${rate(ceiling).toFixed(2)} compares/s (${ceiling.ops} in ${(ceiling.ms / 1000).toFixed(1)} s)`)
  console.log(`POST login:     ${rate(logins).toFixed(2)} logins/s (${logins.ops} in ${(logins.ms / 1000).toFixed(1)} s)${login.failures() > 0 ? `, ${login.failures()} failed` : ''}`)
  console.log(`ratio:          ${(100 * rate(logins) / rate(ceiling)).toFixed(1)} % of the bcrypt ceiling (target >= 90 %)`)
  if (login.failures() > 0) process.exitCode = 1
} finally {
  for (const fn of teardowns) await fn()
}
