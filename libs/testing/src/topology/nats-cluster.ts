import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager, type ClusterInfo, type JetStreamManager } from '@nats-io/jetstream'
import type { Teardown } from '../teardown.js'
import { until } from '../until.js'
import { freePorts } from './free-ports.js'
import { startProcess, httpStatus, type ProcessHandle, type ProcessExit } from './process-handle.js'

/** One nats-server of a cluster. */
export interface NatsNode extends ProcessHandle {
  /** Its `server_name`: what JetStream names leaders and peers by. */
  readonly serverName: string
  /** nats://host:port, for clients. */
  readonly url: string
  readonly port: number
  readonly clusterPort: number
  /** The HTTP monitoring port (/healthz, /jsz, /varz). */
  readonly monitorPort: number
  /** http://host:monitorPort */
  readonly monitorUrl: string
  readonly storeDir: string
  readonly configFile: string
}

export interface NatsCluster {
  /** The cluster's name (`cluster.name` in every node's configuration). */
  readonly name: string
  readonly nodes: NatsNode[]
  /** Every node's client URL, comma-separated: what NATS_URL takes. */
  readonly url: string
  /** The same, as a list, for a nats.js `servers` option. */
  readonly servers: string[]
  /** Where the nodes' configurations and stores are. */
  readonly dir: string
  node: (serverName: string) => NatsNode | undefined
  /** The node leading JetStream's meta group, as the running nodes report it (undefined during an election). */
  metaLeader: () => Promise<NatsNode | undefined>
  /** Resolves when every running node reports the same, running, meta leader. */
  waitForMetaLeader: (timeoutMs?: number) => Promise<NatsNode>
  /**
   * The node leading `stream`'s replica group (`$JS.API.STREAM.INFO.<stream>`
   * → cluster.leader), or undefined while it has none (an election, no quorum).
   * Throws when the stream does not exist.
   */
  streamLeader: (stream: string) => Promise<NatsNode | undefined>
  /** The node leading a durable consumer's replica group, as streamLeader does for a stream. */
  consumerLeader: (stream: string, consumer: string) => Promise<NatsNode | undefined>
  /**
   * Makes `node` lead the consumer: asks its leader to step down until the
   * election lands there (NATS picks the new leader; 2.9 cannot be told
   * which). Throws after `attempts` elections elsewhere.
   */
  moveConsumerLeader: (stream: string, consumer: string, node: NatsNode, attempts?: number) => Promise<void>
  /** SIGTERM to every node, in parallel. */
  stop: () => Promise<void>
}

export interface NatsNodePorts { client: number, cluster: number, monitor: number }

export interface NatsClusterOptions {
  /** How many nats-server processes (3). */
  nodes?: number
  /** Cluster name; a random one by default, so clusters of tests beside each other never meet. */
  name?: string
  /** Server names, one per node (`<name>-1`, `-2`, … by default). */
  serverNames?: string[]
  host?: string
  /** Fixed ports, one entry per node; free ports by default. */
  ports?: NatsNodePorts[]
  /**
   * The folder for configurations and stores (`<dir>/<serverName>`), kept
   * afterwards. By default a temporary one, removed at teardown.
   */
  dir?: string
  /** nats-server itself (NATS_SERVER_BIN, else nats-server from the PATH). */
  bin?: string
  onLine?: (node: NatsNode, line: string) => void
  onExit?: (node: NatsNode, exit: ProcessExit) => void
  readyTimeoutMs?: number
}

interface JszReply { meta_cluster?: { leader?: string, cluster_size?: number } }

async function jsz (node: NatsNode): Promise<JszReply | undefined> {
  try {
    const res = await fetch(`${node.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) })
    return await res.json() as JszReply
  } catch {
    return undefined
  }
}

function configuration (o: { serverName: string, clusterName: string, host: string, ports: NatsNodePorts, storeDir: string, routes: number[] }): string {
  // JSON is valid NATS configuration syntax, and quotes every path safely.
  return JSON.stringify({
    server_name: o.serverName,
    listen: `${o.host}:${o.ports.client}`,
    http: `${o.host}:${o.ports.monitor}`,
    jetstream: { store_dir: o.storeDir },
    cluster: {
      name: o.clusterName,
      listen: `${o.host}:${o.ports.cluster}`,
      routes: o.routes.map((port) => `nats-route://${o.host}:${port}`)
    }
  }, null, 2) + '\n'
}

/**
 * An N-node NATS JetStream cluster of local nats-server processes, each with
 * its own configuration file, store, client, route and monitoring ports,
 * routed to all the others. Resolves once JetStream has a meta leader that
 * every node knows. Every node is stopped at teardown.
 */
export async function startNatsCluster (t: Teardown, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const count = options.nodes ?? 3
  const host = options.host ?? '127.0.0.1'
  const name = options.name ?? `mdc${randomBytes(4).toString('hex')}`
  const serverNames = options.serverNames ?? Array.from({ length: count }, (_, i) => `${name}-${i + 1}`)
  if (serverNames.length !== count) throw new Error(`${count} nodes need ${count} server names`)
  const ownDir = options.dir === undefined
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'mdcluster-'))
  await mkdir(dir, { recursive: true })
  const bin = options.bin ?? process.env.NATS_SERVER_BIN ?? 'nats-server'

  let ports = options.ports
  if (ports === undefined) {
    const free = await freePorts(count * 3)
    ports = serverNames.map((_, i) => ({ client: free[3 * i] ?? 0, cluster: free[3 * i + 1] ?? 0, monitor: free[3 * i + 2] ?? 0 }))
  }
  if (ports.length !== count) throw new Error(`${count} nodes need ${count} port entries`)
  const allPorts = ports

  const nodes: NatsNode[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(async (node) => { await node.stop(10_000) }))
  }
  t.teardown(async () => {
    await stop()
    if (ownDir) await rm(dir, { recursive: true, force: true })
  })

  // Spawned together: a node alone has no quorum, so none is "ready" (its
  // /healthz is 200) before the others run; each waits for that on its own.
  const started = await Promise.allSettled(serverNames.map(async (serverName, i) => {
    const own = allPorts[i] ?? { client: 0, cluster: 0, monitor: 0 }
    const storeDir = join(dir, serverName)
    const configFile = join(dir, `${serverName}.conf`)
    await mkdir(storeDir, { recursive: true })
    await writeFile(configFile, configuration({
      serverName, clusterName: name, host, ports: own, storeDir, routes: allPorts.filter((_, j) => j !== i).map((p) => p.cluster)
    }))
    const fields = { serverName, url: `nats://${host}:${own.client}`, port: own.client, clusterPort: own.cluster, monitorPort: own.monitor, monitorUrl: `http://${host}:${own.monitor}`, storeDir, configFile }
    // eslint-disable-next-line prefer-const -- read by the callbacks below before it is assigned
    let node: NatsNode | undefined
    const handle = await startProcess({
      name: serverName,
      command: bin,
      args: ['-c', configFile],
      ready: async () => await httpStatus(`http://${host}:${own.monitor}/healthz`) === 200,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      onLine: (line) => { if (node !== undefined) options.onLine?.(node, line) },
      onExit: (exit) => { if (node !== undefined) options.onExit?.(node, exit) }
    })
    // The handle's getters (pid) must survive: extend it, do not copy it.
    node = Object.assign(handle, fields)
    nodes[i] = node
  }))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed !== undefined) {
    await stop()
    throw failed.reason
  }

  const live = (): NatsNode[] => nodes.filter((n) => n.running() && !n.paused())

  const metaLeader = async (): Promise<NatsNode | undefined> => {
    for (const node of live()) {
      const leader = (await jsz(node))?.meta_cluster?.leader
      if (leader !== undefined && leader !== '') return nodes.find((n) => n.serverName === leader)
    }
    return undefined
  }

  const waitForMetaLeader = async (timeoutMs = 20_000): Promise<NatsNode> => await until(async () => {
    const running = live()
    const seen = await Promise.all(running.map(async (n) => (await jsz(n))?.meta_cluster?.leader))
    const leader = seen[0]
    if (leader === undefined || leader === '' || seen.some((s) => s !== leader)) return undefined
    const node = nodes.find((n) => n.serverName === leader)
    return node !== undefined && running.includes(node) ? node : undefined
  }, timeoutMs, `a JetStream meta leader of cluster ${name}`)

  const leaderOf = async (info: (jsm: JetStreamManager) => Promise<{ cluster?: ClusterInfo }>): Promise<NatsNode | undefined> => {
    const servers = live().map((n) => n.url)
    if (servers.length === 0) return undefined
    const nc = await connect({ servers, timeout: 2_000, reconnect: false })
    try {
      const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2_000 })
      const leader = (await info(jsm)).cluster?.leader
      return leader === undefined || leader === '' ? undefined : nodes.find((n) => n.serverName === leader)
    } catch (err) {
      // No leader: nobody answers the request (timeout) or the API is busy (503).
      if (/timeout|503|unavailable|no responders/i.test(String(err))) return undefined
      throw err
    } finally {
      await nc.close()
    }
  }
  const streamLeader = async (stream: string): Promise<NatsNode | undefined> => await leaderOf(async (jsm) => await jsm.streams.info(stream))
  const consumerLeader = async (stream: string, consumer: string): Promise<NatsNode | undefined> =>
    await leaderOf(async (jsm) => await jsm.consumers.info(stream, consumer))

  const moveConsumerLeader = async (stream: string, consumer: string, node: NatsNode, attempts = 20): Promise<void> => {
    for (let i = 0; i < attempts; i++) {
      const leader = await until(async () => await consumerLeader(stream, consumer), 20_000, `a leader for ${consumer}`)
      if (leader === node) return
      const nc = await connect({ servers: leader.url, timeout: 2_000, reconnect: false })
      try {
        await nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer}`, '', { timeout: 5_000 })
      } finally {
        await nc.close()
      }
    }
    throw new Error(`${consumer} is not led by ${node.serverName} after ${attempts} elections`)
  }

  const cluster: NatsCluster = {
    name,
    nodes,
    url: nodes.map((n) => n.url).join(','),
    servers: nodes.map((n) => n.url),
    dir,
    node: (serverName) => nodes.find((n) => n.serverName === serverName),
    metaLeader,
    waitForMetaLeader,
    streamLeader,
    consumerLeader,
    moveConsumerLeader,
    stop
  }
  await waitForMetaLeader(options.readyTimeoutMs ?? 30_000)
  return cluster
}
