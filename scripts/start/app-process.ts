import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[31m']
const RESET = '\x1b[0m'

export interface AppProcess {
  name: string
  child: ChildProcess
  exited: Promise<number | null>
}

/**
 * Runs one app as a child process (as operators run them: one process each),
 * from TypeScript source through tsx, with every output line prefixed by the
 * app's name.
 */
export function spawnApp (name: string, entry: string, env: NodeJS.ProcessEnv, index: number): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@metadome/source', entry], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a terminal's Ctrl-C reaches only this script,
    // which then sends one SIGTERM: a second signal would make the app skip
    // draining and exit at once.
    detached: true
  })
  const color = process.stdout.isTTY === true ? COLORS[index % COLORS.length] ?? '' : ''
  const prefix = `${color}${name.padEnd(16)}${color === '' ? '' : RESET}| `
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue
    createInterface({ input: stream }).on('line', (line) => { process.stdout.write(prefix + line + '\n') })
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { name, child, exited }
}

/** Resolves when `url` answers 200, or rejects when the app exits or time runs out. */
export async function waitReady (app: AppProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (app.child.exitCode !== null) throw new Error(`${app.name} exited with code ${app.child.exitCode} before it was ready`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${app.name} was not ready at ${url} within ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopApp (app: AppProcess, graceMs: number): Promise<void> {
  if (app.child.exitCode !== null) return
  app.child.kill('SIGTERM')
  const timer = setTimeout(() => app.child.kill('SIGKILL'), graceMs)
  await app.exited
  clearTimeout(timer)
}
