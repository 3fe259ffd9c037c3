import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { buildGateway, buildWriter } from '@metadome/e2e'
import { createTestNamespace, testNatsUrl } from '@metadome/testing'

// CHAT gets max_age and max_bytes from CHAT_STREAM_MAX_AGE_DAYS and
// CHAT_STREAM_MAX_BYTES, refuses new messages when full rather than drop
// unstored ones, and an existing stream is moved to new limits when its
// owner, message-writer, starts; a gateway only creates it when missing.

t.test('the CHAT stream takes its limits from the configuration, at every start of the writer', async (t) => {
  const url = testNatsUrl()
  const ns = createTestNamespace(t, url)
  const nc = await connect({ servers: url })
  t.teardown(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  const first = await buildGateway(t, { NATS_URL: url, NATS_NAMESPACE: ns, AUTH_URL: 'http://127.0.0.1:1' })
  let info = await jsm.streams.info(`${ns}_CHAT`)
  t.equal(info.config.max_age, 30 * 24 * 3600 * 1e9, '30 days by default')
  t.equal(info.config.max_bytes, -1, 'no byte limit by default')
  t.equal(info.config.discard, 'new', 'full, it refuses new messages')
  await first.app.close()

  const writer = await buildWriter(t, { NATS_URL: url, NATS_NAMESPACE: ns, CHAT_STREAM_MAX_AGE_DAYS: '2', CHAT_STREAM_MAX_BYTES: '1000000' })
  info = await jsm.streams.info(`${ns}_CHAT`)
  t.equal(info.config.max_age, 2 * 24 * 3600 * 1e9, 'the writer moves an existing stream to 2 days')
  t.equal(info.config.max_bytes, 1_000_000)
  await writer.app.close()

  // A gateway's NATS user has no right to change the stream (deploy/nats/permissions.conf): it does not try.
  await buildGateway(t, { NATS_URL: url, NATS_NAMESPACE: ns, AUTH_URL: 'http://127.0.0.1:1', CHAT_STREAM_MAX_AGE_DAYS: '1', CHAT_STREAM_MAX_BYTES: '5000' })
  info = await jsm.streams.info(`${ns}_CHAT`)
  t.equal(info.config.max_age, 2 * 24 * 3600 * 1e9, 'a gateway with other limits leaves them as the writer set them')
  t.equal(info.config.max_bytes, 1_000_000)
})
