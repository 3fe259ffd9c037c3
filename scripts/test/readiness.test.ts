import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startNatsServer, testNatsUrl, until, type Teardown } from '@metadome/testing'
import { buildAuthApi, buildGateway, buildWriter } from '@metadome/e2e'

// /healthz, /readyz and /metrics of every app, the way an orchestrator
// probes them: readiness follows the dependencies the app really has.

interface AppUnderTest {
  name: string
  dependencies: string[]
  build: (t: Teardown, natsUrl: string) => Promise<FastifyInstance>
}

// Each on a database and namespace of its own, on the NATS server the test says.
const quiet = (natsUrl: string) => ({ NATS_URL: natsUrl, LOG_LEVEL: 'silent' })

const apps: AppUnderTest[] = [
  {
    name: 'auth-api',
    dependencies: ['database', 'nats'],
    build: async (t, natsUrl) => (await buildAuthApi(t, quiet(natsUrl))).app
  },
  {
    name: 'message-writer',
    dependencies: ['database', 'nats'],
    build: async (t, natsUrl) => (await buildWriter(t, quiet(natsUrl))).app
  },
  {
    name: 'chat-gateway',
    dependencies: ['nats'],
    build: async (t, natsUrl) => (await buildGateway(t, quiet(natsUrl))).app
  }
]

for (const spec of apps) {
  t.test(spec.name, async (t) => {
    t.test('/healthz answers, /readyz is 200 with every dependency up, /metrics serves Prometheus text', async (t) => {
      const app = await spec.build(t, testNatsUrl())
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
      const res = await app.inject('/no/such/route')
      t.equal(res.statusCode, 404)
      t.equal(res.json().error.code, 'not_found')
    })
  })
}
