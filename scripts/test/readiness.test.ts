import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '@metadome/config'
import { createLogger } from '@metadome/logger'
import { createTestDatabase, createTestNamespace, startNatsServer, testNatsUrl, until, type Teardown } from '@metadome/testing'
import { AuthConfig } from '../../apps/auth-api/src/config.js'
import { buildApp as buildAuth } from '../../apps/auth-api/src/app.js'
import { GatewayConfig } from '../../apps/chat-gateway/src/config.js'
import { buildApp as buildGateway } from '../../apps/chat-gateway/src/app.js'
import { WriterConfig } from '../../apps/message-writer/src/config.js'
import { buildApp as buildWriter } from '../../apps/message-writer/src/app.js'

// /healthz, /readyz and /metrics of every app, the way an orchestrator
// probes them: readiness follows the dependencies the app really has.

interface AppUnderTest {
  name: string
  dependencies: string[]
  build: (t: Teardown, natsUrl: string) => Promise<FastifyInstance>
}

const quiet = (name: string) => createLogger({ name, level: 'silent' })

async function tempDir (t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'metadome-readiness-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

const apps: AppUnderTest[] = [
  {
    name: 'auth-api',
    dependencies: ['database', 'nats'],
    build: async (t, natsUrl) => await buildAuth(loadConfig(AuthConfig, {
      DATABASE_URL: await createTestDatabase(t),
      NATS_URL: natsUrl,
      NATS_NAMESPACE: createTestNamespace(t, natsUrl),
      BCRYPT_COST: '4',
      DATA_DIR: await tempDir(t)
    }), { logger: quiet('auth-api') })
  },
  {
    name: 'message-writer',
    dependencies: ['database', 'nats'],
    build: async (t, natsUrl) => await buildWriter(loadConfig(WriterConfig, {
      DATABASE_URL: await createTestDatabase(t),
      NATS_URL: natsUrl,
      NATS_NAMESPACE: createTestNamespace(t, natsUrl)
    }), { logger: quiet('message-writer') })
  },
  {
    name: 'chat-gateway',
    dependencies: ['nats'],
    build: async (t, natsUrl) => await buildGateway(loadConfig(GatewayConfig, {
      NATS_URL: natsUrl,
      NATS_NAMESPACE: createTestNamespace(t, natsUrl)
    }), { logger: quiet('chat-gateway') })
  }
]

for (const spec of apps) {
  t.test(spec.name, async (t) => {
    t.test('/healthz answers, /readyz is 200 with every dependency up, /metrics serves Prometheus text', async (t) => {
      const app = await spec.build(t, testNatsUrl())
      t.teardown(async () => { await app.close() })
      const health = await app.inject('/healthz')
      t.equal(health.statusCode, 200)
      t.same(health.json(), { status: 'ok' })

      const ready = await app.inject('/readyz')
      t.equal(ready.statusCode, 200)
      t.same(ready.json(), { status: 'ready', checks: Object.fromEntries(spec.dependencies.map((d) => [d, 'up'])) })

      const metrics = await app.inject('/metrics')
      t.equal(metrics.statusCode, 200)
      t.match(metrics.headers['content-type'], /^text\/plain/)
      t.match(metrics.body, new RegExp(`process_cpu_user_seconds_total\\{app="${spec.name}"\\}`))
      t.match(metrics.body, new RegExp(`http_request_duration_seconds_count\\{app="${spec.name}",method="GET",route="/readyz",status="200"\\} 1`))
    })

    t.test('/readyz is 503 naming NATS while NATS is unreachable, and 200 again once it is back', async (t) => {
      const nats = await startNatsServer(t)
      const app = await spec.build(t, nats.url)
      t.teardown(async () => { await app.close() })
      await nats.stop()
      const down = await until(async () => {
        const res = await app.inject('/readyz')
        return res.statusCode === 503 && res
      }, 10_000, 'readyz to report NATS down')
      t.equal(down.json().status, 'unavailable')
      t.equal(down.json().checks.nats, 'down')
      await nats.start()
      await until(async () => (await app.inject('/readyz')).statusCode === 200, 15_000, 'readyz to recover')
    })

    t.test('an unknown route is a 404 in the error shape of the contract', async (t) => {
      const app = await spec.build(t, testNatsUrl())
      t.teardown(async () => { await app.close() })
      const res = await app.inject('/no/such/route')
      t.equal(res.statusCode, 404)
      t.equal(res.json().error.code, 'not_found')
    })
  })
}
