import t from 'tap'
import { until } from '@metadome/testing'
import { build, PASSWORD } from '../../helper.js'
import { readUsersStream, outboxIds, unpublished, metricValue } from './stream.js'

t.test('two replicas on one database publish every event exactly once, in order', async (t) => {
  const a = await build(t)
  const b = await build(t, { DATABASE_URL: a.config.DATABASE_URL, NATS_NAMESPACE: a.config.NATS_NAMESPACE, DATA_DIR: a.config.DATA_DIR })

  // Both write and both relay at the same time, in waves, so that each relay
  // is woken while the other may hold the lock.
  const writes = []
  for (let wave = 0; wave < 10; wave++) {
    writes.push(...await Promise.all(Array.from({ length: 4 }, async (_, i) =>
      await (i % 2 === 0 ? a : b).app.inject({ method: 'POST', url: '/v1/users', payload: { username: `user${wave}x${i}`, password: PASSWORD } }))))
    await new Promise((resolve) => setTimeout(resolve, 15))
  }
  t.same(new Set(writes.map((w) => w.statusCode)), new Set([201]))

  await until(async () => await unpublished(a.app) === 0, 20_000, 'both relays to drain the outbox')
  const ids = await outboxIds(a.app)
  t.equal(ids.length, 40)
  const stored = await readUsersStream(a.config.NATS_URL, a.config.NATS_NAMESPACE)
  t.same(stored.map((s) => s.event.id), ids, 'the stream holds each event once, in outbox order')

  const count = async (app: typeof a.app, result: string) =>
    metricValue((await app.inject('/metrics')).body, new RegExp(`^auth_outbox_published_total\\{result="${result}",app="auth-api"\\} (\\S+)$`, 'm'))
  const storedA = await count(a.app, 'stored')
  const storedB = await count(b.app, 'stored')
  t.equal(storedA + storedB, 40, `published 40 times in all (${storedA} by one replica, ${storedB} by the other)`)
  t.equal(await count(a.app, 'duplicate') + await count(b.app, 'duplicate'), 0, 'never twice, not even deduplicated by the stream')
})
