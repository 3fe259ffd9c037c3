import t from 'tap'
import { startNatsServer, until } from '@metadome/testing'
import { build } from './helper.js'

t.test('/healthz answers while the process is alive', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/healthz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('/readyz is 200 when the database and NATS answer', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { database: 'up', nats: 'up' } })
})

t.test('/readyz is 503 naming NATS while NATS is unreachable, and 200 again after', async (t) => {
  const nats = await startNatsServer(t)
  const { app } = await build(t, { NATS_URL: nats.url })
  await nats.stop()
  const down = await until(async () => {
    const res = await app.inject('/readyz')
    return res.statusCode === 503 && res
  }, 10_000, 'readyz to report NATS down')
  t.same(down.json(), { status: 'unavailable', checks: { database: 'up', nats: 'down' } })

  await nats.start()
  await until(async () => (await app.inject('/readyz')).statusCode === 200, 15_000, 'readyz to recover')
})

t.test('/metrics serves Prometheus text with default and request metrics', async (t) => {
  const { app } = await build(t)
  await app.inject('/healthz')
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.match(res.body, /process_cpu_user_seconds_total\{app="auth-api"\}/)
  t.match(res.body, /http_request_duration_seconds_count\{app="auth-api",method="GET",route="\/healthz",status="200"\} 1/)
})

t.test('an unknown route is a 404 in the error shape of the contract', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/nope')
  t.equal(res.statusCode, 404)
  t.equal(res.json().error.code, 'not_found')
})
