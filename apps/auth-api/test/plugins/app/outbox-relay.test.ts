import t from 'tap'
import { Value } from 'typebox/value'
import { UserEvent } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { build, signIn, signUp, PASSWORD } from '../../helper.js'
import { readUsersStream, outboxIds, unpublished, metricValue } from './stream.js'

t.test('every change to a user reaches the USERS stream once, in order, with Nats-Msg-Id = event id and no secret', async (t) => {
  const { app, config } = await build(t)
  const alice = await signUp(app, 'alice', { email: 'alice@example.com' })
  await signIn(app, 'alice') // a second session, which the password change ends
  await app.inject({ method: 'PATCH', url: `/v1/users/${alice.id}`, headers: alice.auth, payload: { displayName: 'Alice L.' } })
  await app.inject({ method: 'PATCH', url: `/v1/users/${alice.id}`, headers: alice.auth, payload: { password: 'a brand new passphrase', currentPassword: PASSWORD } })
  await app.inject({ method: 'DELETE', url: `/v1/users/${alice.id}`, headers: alice.auth, payload: { currentPassword: 'a brand new passphrase' } })

  const ids = await outboxIds(app)
  const stored = await until(async () => {
    const s = await readUsersStream(config.NATS_URL, config.NATS_NAMESPACE)
    return s.length >= ids.length && s
  }, 10_000, 'the events to be published')
  t.same(stored.map((s) => s.event.type), ['registered', 'updated', 'updated', 'sessions_revoked', 'deleted'])
  t.same(stored.map((s) => s.event.id), ids, 'in outbox order')
  for (const s of stored) {
    t.equal(s.msgId, s.event.id, 'Nats-Msg-Id is the event id')
    t.equal(s.subject, `${config.NATS_NAMESPACE}.users.${s.event.type}`)
    t.ok(Value.Check(UserEvent, s.event), 'valid against the UserEvent schema')
    t.same(s.event.user, { id: alice.id, username: 'alice', displayName: s.event.user.displayName })
  }
  const raw = JSON.stringify(stored)
  t.notMatch(raw, /alice@example\.com|passphrase|correct horse|\$2b\$/, 'no email, password or hash')
  t.equal(await unpublished(app), 0)
  const metrics = (await app.inject('/metrics')).body
  t.equal(metricValue(metrics, /^auth_outbox_backlog\{app="auth-api"\} (\S+)$/m), 0)
  t.equal(metricValue(metrics, /^auth_outbox_publish_lag_seconds_count\{app="auth-api"\} (\S+)$/m), 5)
})

t.test('the relay stops cleanly when the app closes with events still to publish, and the next start publishes them', async (t) => {
  const { app, config } = await build(t)
  await signUp(app, 'alice')
  const ids = await outboxIds(app)
  await app.close()
  // Whatever the closing relay did not publish is still in the outbox, not lost.
  const published = (await readUsersStream(config.NATS_URL, config.NATS_NAMESPACE)).map((s) => s.event.id)
  const again = await build(t, { DATABASE_URL: config.DATABASE_URL, NATS_NAMESPACE: config.NATS_NAMESPACE })
  const pending = await unpublished(again.app)
  t.equal(published.length + pending, ids.length, 'each event is published or still pending')
  const stored = await until(async () => {
    const s = await readUsersStream(config.NATS_URL, config.NATS_NAMESPACE)
    return s.length >= ids.length ? s : undefined
  }, 10_000, 'the next start to publish the rest')
  t.same(stored.map((s) => s.event.id), ids, 'all of them, once, in order')
})
