import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream'
import { startNatsCluster, until, httpStatus, type NatsCluster } from '@metadome/testing'

// The harness's NATS cluster, as the chaos runner will use it: three
// nats-server processes in one JetStream cluster, a stream at three replicas,
// its leader killed with -9, a new one elected and publishing on, the node
// back with its store; a paused node that answers nothing until resumed.

let dirs: string[] = []

async function connected (t: Test, servers: string[]): Promise<NatsConnection> {
  const nc = await connect({ servers, timeout: 2_000 })
  t.teardown(async () => { await nc.close() })
  return nc
}

async function publishAcked (nc: NatsConnection, id: string, timeoutMs: number): Promise<PubAck> {
  const js = jetstream(nc)
  // A publish during an election can fail or time out and still be stored:
  // the message id keeps a retry from storing it twice.
  return await until(async () => await js.publish('r3.msg', id, { msgID: id, timeout: 1_000 }).catch(() => undefined), timeoutMs, `an ack of ${id}`)
}

t.test('killing the leader of an R3 stream elects another within seconds, and the node comes back on its store', async (t) => {
  const cluster: NatsCluster = await startNatsCluster(t, { nodes: 3 })
  dirs.push(cluster.dir)
  t.equal(cluster.nodes.length, 3)
  t.equal(cluster.url.split(',').length, 3, 'NATS_URL lists every node')
  t.ok(await cluster.metaLeader(), 'JetStream has a meta leader')

  const nc = await connected(t, cluster.servers)
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 })
  t.equal((await publishAcked(nc, 'one', 5_000)).seq, 1)

  const leader = await until(async () => await cluster.streamLeader('R3'), 10_000, 'a leader of R3')
  t.ok(cluster.nodes.includes(leader), 'the leader is mapped to its node handle')
  const pid = leader.pid
  await leader.kill()
  t.equal(leader.running(), false, 'kill -9 took it down')
  t.equal(leader.pid, undefined)
  t.equal((await leader.exited()).signal, 'SIGKILL')
  t.equal(spawnSync('kill', ['-0', String(pid)]).status, 1, 'its process is gone')

  const killedAt = Date.now()
  const next = await until(async () => {
    const now = await cluster.streamLeader('R3')
    return now !== undefined && now !== leader ? now : undefined
  }, 20_000, 'a new leader of R3')
  const ack = await publishAcked(nc, 'two', 10_000)
  t.comment(`new leader ${next.serverName} and an ack ${Date.now() - killedAt} ms after the kill`)
  t.equal(ack.stream, 'R3')
  t.equal(ack.seq, 2, 'stored once, after the first')

  await leader.start()
  t.ok(leader.running(), 'started again on the same ports and store')
  const caughtUp = await until(async () => {
    const si = await jsm.streams.info('R3').catch(() => undefined)
    const replicas = si?.cluster?.replicas ?? []
    return replicas.length === 2 && replicas.every((r) => r.current) && si
  }, 20_000, 'all three replicas current')
  t.equal(caughtUp.state.messages, 2)
  const back = await connected(t, [leader.url])
  const last = await jetstreamManager(back).then(async (m) => await m.streams.getMessage('R3', { seq: 2 }))
  t.equal(last?.string(), 'two', 'the restarted node serves the stream')
})

t.test('a paused node answers nothing until resumed; a stopped one waits for its exit', async (t) => {
  const cluster = await startNatsCluster(t, { nodes: 3 })
  dirs.push(cluster.dir)
  const setup = await connected(t, cluster.servers)
  await (await jetstreamManager(setup)).streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 })
  // A node that leads nothing, so that pausing it starts no election.
  const meta = await cluster.waitForMetaLeader()
  const leader = await until(async () => await cluster.streamLeader('R3'), 10_000, 'a leader of R3')
  const node = cluster.nodes.find((n) => n !== meta && n !== leader)
  if (node === undefined) throw new Error('no node that leads nothing')
  const nc = await connected(t, cluster.nodes.filter((n) => n !== node).map((n) => n.url))

  await node.pause()
  t.ok(node.paused())
  t.ok(node.running(), 'a paused process still runs')
  t.equal(await httpStatus(`${node.monitorUrl}/healthz`, 500), undefined, 'it answers nothing')
  t.equal((await publishAcked(nc, 'while-paused', 10_000)).seq, 1, 'the other two still ack')
  node.resume()
  t.notOk(node.paused())
  t.equal(await until(async () => await httpStatus(`${node.monitorUrl}/healthz`), 10_000, 'its health'), 200, 'it answers again')

  await node.stop()
  t.equal(node.running(), false)
  t.equal((await node.exited()).expected, true, 'an exit the handle asked for')
  await node.start()
  t.equal(await httpStatus(`${node.monitorUrl}/healthz`), 200)
})

t.test('no nats-server of these clusters is left after their tests', async (t) => {
  t.equal(dirs.length, 2)
  for (const dir of dirs) {
    const found = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' })
    t.equal(found.stdout.trim(), '', `no process names ${dir}`)
  }
  dirs = []
})
