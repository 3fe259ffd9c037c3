import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Teardown } from '../teardown.js'
import { freePorts } from './free-ports.js'
import { startProcess, httpStatus, type ProcessHandle, type ProcessExit } from './process-handle.js'
import { entryArgs } from './entry-args.js'

/** The monorepo's root, from libs/testing/{src,dist}/topology/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')

export type AppName = 'auth-api' | 'chat-gateway' | 'message-writer'

/** One app (auth-api, a chat-gateway, a message-writer) as its own process. */
export interface AppProcess extends ProcessHandle {
  readonly app: AppName
  readonly port: number
  /** http://host:port */
  readonly url: string
}

export interface AppProcessOptions {
  app: AppName
  /** The handle's name, e.g. chat-gateway-2 (the app's name by default). */
  name?: string
  host?: string
  /** A free port by default. */
  port?: number
  /** Added to this process's environment (or replacing it: `inheritEnv: false`); HOST and PORT are set from the options. */
  env?: Record<string, string | undefined>
  inheritEnv?: boolean
  root?: string
  onLine?: (line: string) => void
  onExit?: (exit: ProcessExit) => void
  /** 90 s: six apps compiling through tsx on two cores take a while. */
  readyTimeoutMs?: number
  /** How long a drain may take before SIGKILL (15 s). */
  stopGraceMs?: number
}


/**
 * Runs `apps/<app>/src/server.ts` as operators run an app, one process (from
 * dist/ when it is built, see entryArgs), and resolves once its /readyz answers 200. Stopped
 * (SIGTERM: it drains) at teardown.
 */
export async function startAppProcess (t: Teardown, options: AppProcessOptions): Promise<AppProcess> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? (await freePorts(1))[0] ?? 0
  const root = options.root ?? repoRoot
  const url = `http://${host}:${port}`
  const handle = await startProcess({
    name: options.name ?? options.app,
    command: process.execPath,
    args: entryArgs(join(root, 'apps', options.app, 'src', 'server.ts')),
    cwd: root,
    env: { ...(options.inheritEnv === false ? {} : process.env), ...options.env, HOST: host, PORT: String(port) },
    ready: async () => await httpStatus(`${url}/readyz`) === 200,
    readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
    stopGraceMs: options.stopGraceMs ?? 15_000,
    onLine: options.onLine,
    onExit: options.onExit
  })
  t.teardown(async () => { await handle.stop() })
  return Object.assign(handle, { app: options.app, port, url })
}
