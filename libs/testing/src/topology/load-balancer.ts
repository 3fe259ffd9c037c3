import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Teardown } from '../teardown.js'
import { freePorts } from './free-ports.js'
import { startProcess, httpStatus, type ProcessHandle, type ProcessExit } from './process-handle.js'
import { repoRoot } from './app-process.js'

export type LoadBalancerKind = 'haproxy' | 'node'

export interface Backend { name?: string, host?: string, port: number }

/** The load balancer in front of the gateways. */
export interface LoadBalancer extends ProcessHandle {
  /** HAProxy from the PATH, or the Node TCP proxy (tcp-proxy.ts). */
  readonly kind: LoadBalancerKind
  readonly port: number
  /** http://host:port */
  readonly httpUrl: string
  /** ws://host:port/v1/ws, the gateways' WebSocket route. */
  readonly wsUrl: string
}

export interface LoadBalancerOptions {
  /** The gateways (an AppProcess is a Backend: it has a port and a name). */
  backends: Backend[]
  host?: string
  /** A free port by default. */
  port?: number
  /** `auto` (the default): HAProxy when it is on the PATH, else the Node proxy. */
  kind?: LoadBalancerKind | 'auto'
  /** Where HAProxy's configuration goes (kept); a temporary folder by default. */
  dir?: string
  /** The backends' health check (GET, 200 = in rotation). */
  checkPath?: string
  checkIntervalMs?: number
  onLine?: (line: string) => void
  onExit?: (exit: ProcessExit) => void
}

let haproxyFound: boolean | undefined
export const haproxyAvailable = (): boolean =>
  (haproxyFound ??= spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0)

/**
 * deploy/haproxy.cfg's balancing on loopback: round-robin over the backends
 * whose health check answers 200, WebSocket upgrades tunnelled. A connection
 * refused by a backend that has just died (before its checks fail) is tried
 * again on another one, as clients of a killed gateway reconnect at once.
 */
export function haproxyConfig (o: { host: string, port: number, backends: Array<Required<Backend>>, checkPath: string, checkIntervalMs: number }): string {
  return [
    'global',
    // Two descriptors per proxied connection, inside this machine's limit of 20,000.
    '    maxconn 9000',
    '',
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout http-request 10s',
    '    timeout client 60s',
    '    timeout server 60s',
    '    timeout tunnel 1h',
    '    timeout client-fin 10s',
    '    timeout server-fin 10s',
    '    retries 2',
    '    option redispatch',
    '',
    'frontend gateways_in',
    `    bind ${o.host}:${o.port}`,
    '    default_backend gateways',
    '',
    'backend gateways',
    '    balance roundrobin',
    '    option httpchk',
    `    http-check send meth GET uri ${o.checkPath}`,
    '    http-check expect status 200',
    `    default-server check inter ${o.checkIntervalMs}ms fall 2 rise 2`,
    ...o.backends.map((b) => `    server ${b.name} ${b.host}:${b.port}`),
    ''
  ].join('\n')
}

/**
 * A load balancer on one port in front of `backends`: HAProxy from the PATH
 * with a generated configuration, else a Node round-robin TCP proxy that
 * skips backends whose health check fails. Ready once it answers HTTP
 * (HAProxy itself answers 503 while no backend is up). Stopped at teardown.
 */
export async function startLoadBalancer (t: Teardown, options: LoadBalancerOptions): Promise<LoadBalancer> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? (await freePorts(1))[0] ?? 0
  const requested = options.kind ?? 'auto'
  const kind: LoadBalancerKind = requested === 'auto' ? (haproxyAvailable() ? 'haproxy' : 'node') : requested
  const checkPath = options.checkPath ?? '/readyz'
  const checkIntervalMs = options.checkIntervalMs ?? 1_000
  const backends = options.backends.map((b, i) => ({ name: b.name ?? `backend-${i + 1}`, host: b.host ?? '127.0.0.1', port: b.port }))
  const httpUrl = `http://${host}:${port}`

  let command: string
  let args: string[]
  let ownDir: string | undefined
  if (kind === 'haproxy') {
    const dir = options.dir ?? (ownDir = await mkdtemp(join(tmpdir(), 'mdlb-')))
    await mkdir(dir, { recursive: true })
    const configFile = join(dir, 'haproxy.cfg')
    await writeFile(configFile, haproxyConfig({ host, port, backends, checkPath, checkIntervalMs }))
    command = 'haproxy'
    // -db: in the foreground, so that the handle's signals reach it.
    args = ['-db', '-f', configFile]
  } else {
    const self = fileURLToPath(import.meta.url)
    const proxy = join(self, '..', `tcp-proxy${extname(self)}`)
    command = process.execPath
    args = [...(extname(self) === '.ts' ? ['--import', 'tsx'] : []), proxy, JSON.stringify({ host, port, backends, checkPath, intervalMs: checkIntervalMs })]
  }
  t.teardown(async () => { if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true }) })
  const handle = await startProcess({
    name: 'load-balancer',
    command,
    args,
    // tsx resolves from here when the proxy runs from source.
    cwd: repoRoot,
    ready: async () => await httpStatus(`${httpUrl}${checkPath}`) !== undefined,
    readyTimeoutMs: 15_000,
    stopGraceMs: 5_000,
    onLine: options.onLine,
    onExit: options.onExit
  })
  t.teardown(async () => { await handle.stop() })
  return Object.assign(handle, { kind, port, httpUrl, wsUrl: `ws://${host}:${port}/v1/ws` })
}
