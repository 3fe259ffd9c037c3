import t, { type Test } from 'tap'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
import { ChatClient } from '@metadome/client'
import { freePorts, startStack, until, type Stack, tempDir } from '@metadome/testing'
import { startEmbeddedPostgres, type LocalDatabase } from '../start/embedded-postgres.js'
import { createTraffic } from '../chaos/traffic.js'
import { verify, formatReport, type ChaosReport } from '../chaos/verify.js'
import { runChaos } from '../chaos/run.js'
import { drainGateway, killChatLeader, killWriter, restartPostgres } from '../chaos/faults.js'

// The cluster of DESIGN.md "Cluster and trust between services" as processes
// on loopback: three NATS nodes with every stream at R3, auth-api, three
// gateways behind HAProxy (or the Node proxy), two writers, and a PostgreSQL
// of its own so that it can be restarted. SDK clients send through it while
// one fault at a time hits it; verify.ts checks every ack against what was
// stored and what every member was handed. One stack for the whole file: it
// takes the longest to start.

// Four fault runs of 10 s or more, each settling, after the slowest start of
// the suite: well over tap's default two minutes on a busy machine.
t.setTimeout(300_000)

const NAMESPACE = 'cluster'
let stack: Stack
let database: LocalDatabase

t.before(async () => {
  const dir = await tempDir(t, 'metadome-cluster-')
  const [pgPort = 0] = await freePorts(1)
  database = await startEmbeddedPostgres(dir, pgPort, () => {})
  t.teardown(async () => { await database.stop() })
  stack = await startStack(t, {
    databaseUrl: database.url,
    env: { NATS_NAMESPACE: NAMESPACE, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', BCRYPT_COST: '4', DATA_DIR: dir, WRITER_ACK_WAIT_MS: '3000' },
    nats: { dir: join(dir, 'nats') }
  })
})

function reported (t: Test, report: ChaosReport): void {
  t.comment(formatReport(report))
  t.ok(report.acked > 0, 'messages were acked')
  t.equal(report.lost, 0, 'nothing acked was lost')
  t.equal(report.duplicates, 0, 'nothing was handed over or stored twice')
  t.equal(report.wrongSeq, 0, 'every acked message is stored at the seq of its ack')
  t.equal(report.outOfOrder, 0, 'every member got its conversations in seq order')
  t.equal(report.stored, report.acked)
  t.equal(report.delivered, report.expectedDeliveries)
}

const chaos = async (faults: Parameters<typeof runChaos>[0]['faults'], seconds: number): Promise<ChaosReport> => await runChaos({
  stack, namespace: NAMESPACE, databaseUrl: database.url, restartDatabase: database.restart, seconds, faults, users: 4, sendIntervalMs: 30
})

t.test('clients spread over three gateways and three NATS nodes talk in direct and group conversations', async (t) => {
  const nc = await connect({ servers: stack.nats.servers })
  t.teardown(async () => { await nc.close() })
  const chat = await (await jetstreamManager(nc)).streams.info(`${NAMESPACE}_CHAT`)
  t.equal(chat.config.num_replicas, 3, 'CHAT has three replicas')
  t.equal(chat.cluster?.replicas?.length, 2, 'a leader and two followers')

  const sql = new pg.Pool({ connectionString: database.url, max: 1 })
  t.teardown(async () => { await sql.end() })
  // One client per gateway, each on its own: the fan-out crosses gateways.
  const traffic = await createTraffic({ authUrl: stack.authApi.url, gatewayUrls: stack.gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/ws`), users: 3, password: 'cluster correct horse battery', prefix: 'spread' })
  t.teardown(async () => { await traffic.close() })
  t.same(new Set(traffic.participants.map((p) => p.client.gatewayUrl)).size, 3, 'each client on another gateway')
  traffic.start()
  await until(async () => traffic.acked.length >= 60 || undefined, 30_000, '60 acks')
  await traffic.stop()
  const report = await verify(traffic, sql)
  reported(t, report)
  t.ok(traffic.acked.some((m) => traffic.members.get(m.conversationId)?.length === 3), 'group messages among them')
})

t.test('kill -9 of the NATS node leading CHAT and the writer\'s consumers under a send loop: acks resume, nothing acked is lost or doubled, the writer goes on', async (t) => {
  const report = await chaos([killChatLeader(3_000, { writerConsumers: true })], 8)
  reported(t, report)
  t.ok(await until(async () => await stack.nats.streamLeader(`${NAMESPACE}_CHAT`), 20_000, 'a CHAT leader'), 'CHAT has a leader again')
  // A liveness bound, not a speed figure: with nats.js's default pull
  // expiry the writer's consumers stood still 30 to 45 s after their
  // leader's node died (libs/nats/src/pull.ts), long enough for the next
  // run's new users to be unknown to the writer for its whole wait.
  t.ok(report.storedMs !== undefined && report.storedMs < 15_000, `the writer stored everything within 15 s of the traffic's end (${String(report.storedMs)} ms)`)
  const sql = new pg.Pool({ connectionString: database.url, max: 1 })
  t.teardown(async () => { await sql.end() })
  const user = await ChatClient.register({ authUrl: stack.authApi.url, username: `afterkill${Date.now().toString(36)}`, password: 'cluster correct horse battery' })
  const known = await until(async () => (await sql.query('SELECT 1 FROM chat.users WHERE id = $1', [user.id])).rowCount === 1 || undefined, 15_000, 'the writer knowing a user registered after the kill')
  t.ok(known, 'a user registered after the kill reaches the writer')
})

t.test('rolling restart: SIGTERM each gateway in turn under load, every acked message reaches every member once', async (t) => {
  reported(t, await chaos(stack.gateways.map((_, i) => drainGateway(i)), 12))
})

t.test('kill -9 one of two writers, then restart PostgreSQL: everything acked is stored once', async (t) => {
  reported(t, await chaos([killWriter(0, 4_000), restartPostgres()], 10))
  t.ok(stack.apps.every((a) => a.running()), 'every app still runs (none died of the restart)')
})
