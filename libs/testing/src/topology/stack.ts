import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import type { Teardown } from '../teardown.js'
import { freePorts } from './free-ports.js'
import type { ProcessHandle, ProcessExit } from './process-handle.js'
import { startNatsCluster, type NatsCluster, type NatsClusterOptions, type NatsNodePorts } from './nats-cluster.js'
import { startAppProcess, repoRoot, type AppName, type AppProcess } from './app-process.js'
import { entryArgs } from './entry-args.js'
import { startLoadBalancer, type LoadBalancer, type LoadBalancerKind } from './load-balancer.js'

export interface StackPorts {
  authApi?: number
  gateways?: number[]
  writers?: number[]
  loadBalancer?: number
  nats?: NatsNodePorts[]
}

export interface StackOptions {
  /** PostgreSQL of auth-api and the writers (both schemas in one database). */
  databaseUrl: string
  natsNodes?: number
  gateways?: number
  writers?: number
  /** NATS_STREAM_REPLICAS of the apps: as many as NATS nodes (at most 5) by default. */
  replicas?: number
  host?: string
  /** Given to every app, over this process's own environment: NATS_NAMESPACE, LOG_LEVEL, DATA_DIR, BCRYPT_COST… */
  env?: Record<string, string | undefined>
  /** More variables for one app, by its name (auth-api, chat-gateway-2, message-writer-1…): failpoints in one writer, say. */
  envOf?: (name: string) => Record<string, string | undefined>
  /** Fixed ports; free ones for what is left out. */
  ports?: StackPorts
  nats?: Pick<NatsClusterOptions, 'name' | 'serverNames' | 'dir' | 'bin'>
  loadBalancer?: { kind?: LoadBalancerKind | 'auto', dir?: string }
  /** Runs both apps' migrations before starting them (true). */
  migrate?: boolean
  /** Each process's output lines, by its name (auth-api, chat-gateway-2, nats-1, load-balancer…). */
  onLine?: (name: string, line: string) => void
  onExit?: (name: string, exit: ProcessExit) => void
  /** What the stack itself has to say (migrations). */
  log?: (line: string) => void
}

/** The whole system of DESIGN.md "Cluster and trust between services", each part a process handle. */
export interface Stack {
  nats: NatsCluster
  authApi: AppProcess
  gateways: AppProcess[]
  writers: AppProcess[]
  loadBalancer: LoadBalancer
  /** auth-api, the gateways, the writers. */
  apps: AppProcess[]
  /** Every process: the apps, the load balancer, the NATS nodes. */
  processes: ProcessHandle[]
  /** What every app was given beyond HOST and PORT (NATS_URL, NATS_STREAM_REPLICAS, DATABASE_URL, AUTH_URL, …). */
  appEnv: Record<string, string | undefined>
  /** The apps drain (in parallel), then the load balancer goes, then NATS. Also done at teardown. */
  stop: () => Promise<void>
}

/** Waits for every promise (so nothing is left starting behind a failure), then throws the first failure. */
async function settled<T> (promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises)
  const failed = results.find((r) => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<T>).value)
}

/** `npm run migrate` of one app, its output handed to `log`. */
export async function migrateApp (app: 'auth-api' | 'message-writer', databaseUrl: string, log: (line: string) => void = () => {}): Promise<void> {
  const child = spawn(process.execPath, entryArgs(join(repoRoot, 'apps', app, 'src', 'migrate.ts')), {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => log(`${app}: ${line}`))
  const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('exit', resolve) })
  if (code !== 0) throw new Error(`migrations of ${app} failed (exit code ${String(code)})`)
}

/**
 * A NATS JetStream cluster, auth-api, gateways behind a load balancer and
 * writers, all on loopback, every app given every NATS node in NATS_URL and
 * NATS_STREAM_REPLICAS. The order is that of dependencies: NATS and the
 * migrations, then every app at once (each until its /readyz), then the load
 * balancer over the gateways. Everything is stopped at teardown.
 */
export async function startStack (t: Teardown, options: StackOptions): Promise<Stack> {
  const host = options.host ?? '127.0.0.1'
  const natsNodes = options.natsNodes ?? 3
  const gatewayCount = options.gateways ?? 3
  const writerCount = options.writers ?? 2
  const replicas = options.replicas ?? Math.min(natsNodes, 5)
  const log = options.log ?? (() => {})
  const given = options.ports ?? {}

  const taken = [given.authApi, given.loadBalancer, ...(given.gateways ?? []), ...(given.writers ?? []), ...(given.nats ?? []).flatMap((p) => [p.client, p.cluster, p.monitor])]
    .filter((p): p is number => p !== undefined)
  const free = await freePorts(2 + gatewayCount + writerCount, taken)
  const take = (): number => free.shift() ?? 0
  const authPort = given.authApi ?? take()
  const gatewayPorts = Array.from({ length: gatewayCount }, (_, i) => given.gateways?.[i] ?? take())
  const writerPorts = Array.from({ length: writerCount }, (_, i) => given.writers?.[i] ?? take())
  const lbPort = given.loadBalancer ?? take()

  const [nats] = await settled<NatsCluster | undefined>([
    startNatsCluster(t, {
      nodes: natsNodes,
      host,
      serverNames: Array.from({ length: natsNodes }, (_, i) => `nats-${i + 1}`),
      ...options.nats,
      ...(given.nats === undefined ? {} : { ports: given.nats }),
      onLine: (node, line) => options.onLine?.(node.serverName, line),
      onExit: (node, exit) => options.onExit?.(node.serverName, exit)
    }),
    (async () => {
      if (options.migrate === false) return undefined
      await settled([migrateApp('auth-api', options.databaseUrl, log), migrateApp('message-writer', options.databaseUrl, log)])
      return undefined
    })()
  ])
  if (nats === undefined) throw new Error('unreachable: the NATS cluster did not start')

  const authUrl = `http://${host}:${authPort}`
  const appEnv: Record<string, string | undefined> = {
    NATS_URL: nats.url,
    NATS_STREAM_REPLICAS: String(replicas),
    DATABASE_URL: options.databaseUrl,
    AUTH_URL: authUrl,
    ...options.env
  }
  const app = async (appName: AppName, name: string, port: number, extra: Record<string, string | undefined> = {}): Promise<AppProcess> =>
    await startAppProcess(t, {
      app: appName,
      name,
      host,
      port,
      env: { ...appEnv, ...extra, ...options.envOf?.(name) },
      onLine: (line) => options.onLine?.(name, line),
      onExit: (exit) => options.onExit?.(name, exit)
    })
  const numbered = (base: string, count: number, i: number): string => count === 1 ? base : `${base}-${i + 1}`

  const [authApi, ...rest] = await settled([
    // libuv reads UV_THREADPOOL_SIZE once at start; bcrypt hashes run there,
    // one per core, with room left for file and DNS work (as in npm start).
    app('auth-api', 'auth-api', authPort, { UV_THREADPOOL_SIZE: appEnv.UV_THREADPOOL_SIZE ?? process.env.UV_THREADPOOL_SIZE ?? String(availableParallelism() + 4) }),
    ...gatewayPorts.map(async (port, i) => await app('chat-gateway', numbered('chat-gateway', gatewayCount, i), port)),
    ...writerPorts.map(async (port, i) => await app('message-writer', numbered('message-writer', writerCount, i), port))
  ])
  if (authApi === undefined) throw new Error('unreachable: auth-api did not start')
  const gateways = rest.slice(0, gatewayCount)
  const writers = rest.slice(gatewayCount)

  const loadBalancer = await startLoadBalancer(t, {
    backends: gateways.map((g) => ({ name: g.name, host, port: g.port })),
    host,
    port: lbPort,
    ...options.loadBalancer,
    onLine: (line) => options.onLine?.('load-balancer', line),
    onExit: (exit) => options.onExit?.('load-balancer', exit)
  })

  const apps = [authApi, ...gateways, ...writers]
  const stop = async (): Promise<void> => {
    await Promise.all(apps.map(async (a) => { await a.stop() }))
    await loadBalancer.stop()
    await nats.stop()
  }
  // Registered last, so run first: the parts' own teardowns then find them stopped.
  t.teardown(stop)
  return { nats, authApi, gateways, writers, loadBalancer, apps, processes: [...apps, loadBalancer, ...nats.nodes], appEnv, stop }
}
