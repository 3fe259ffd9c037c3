import t from 'tap'
import { startNatsServer, until } from '@metadome/testing'
import { build, signUp } from '../../helper.js'
import { readUsersStream, outboxIds, unpublished, metricValue } from './stream.js'

t.test('while NATS is down requests succeed; when it returns every event arrives once, in order', async (t) => {
  const nats = await startNatsServer(t)
  const { app, config } = await build(t, { NATS_URL: nats.url })
  const first = await signUp(app, 'before')
  await until(async () => await unpublished(app) === 0, 10_000, 'the first events to be published')

  await nats.stop()
  const during = []
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/users', payload: { username: `during${i}`, password: 'outage-proof passphrase' } })
    t.equal(res.statusCode, 201, `registration ${i} succeeds with NATS down`)
    during.push(res.json().user.id as string)
  }
  const patch = await app.inject({ method: 'PATCH', url: `/v1/users/${first.id}`, headers: first.auth, payload: { displayName: 'still here' } })
  t.equal(patch.statusCode, 200)
  const backlog = metricValue((await app.inject('/metrics')).body, /^auth_outbox_backlog\{app="auth-api"\} (\S+)$/m)
  t.equal(backlog, 7, 'the events wait in the outbox')

  await nats.start()
  await until(async () => await unpublished(app) === 0, 30_000, 'the backlog to drain after NATS returns')
  const stored = await readUsersStream(nats.url, config.NATS_NAMESPACE)
  const ids = await outboxIds(app)
  t.same(stored.map((s) => s.event.id), ids, 'every event, once, in outbox order')
  t.equal(new Set(stored.map((s) => s.event.id)).size, stored.length, 'no duplicates')
  t.same(stored.slice(-7).map((s) => s.event.type), [...during.map(() => 'registered'), 'updated'])
})
