import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { readdir, readFile } from 'node:fs/promises'

/**
 * One process of a topology (a nats-server, an app, the load balancer), as a
 * test or a chaos runner handles it: kill it, stop it, freeze it, start it
 * again with the same command (so the same ports and the same store).
 */
export interface ProcessHandle {
  readonly name: string
  /** The process id while it runs, else undefined. */
  readonly pid: number | undefined
  /** From start to exit; a paused process still runs. */
  running: () => boolean
  /** Between pause() and resume() (or its exit). */
  paused: () => boolean
  /** SIGKILL (kill -9); resolves once it has exited. */
  kill: () => Promise<void>
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
  stop: (graceMs?: number) => Promise<void>
  /** SIGSTOP: it keeps its sockets open and answers nothing. Resolves once every thread of it has stopped. */
  pause: () => Promise<void>
  /** SIGCONT. */
  resume: () => void
  /** Starts it again (same command, environment, ports and store) and waits until it is ready. */
  start: () => Promise<void>
  /** Resolves at its next exit (at once if it is not running), with how it ended. */
  exited: () => Promise<ProcessExit>
  /** Its last lines of output, for error messages. */
  output: () => string
}

export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** True when this handle caused it (kill, stop), false when it died on its own. */
  expected: boolean
}

export interface ProcessSpec {
  name: string
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Polled after each spawn until it returns true; throwing counts as not yet. */
  ready: () => Promise<boolean>
  readyTimeoutMs?: number
  /** Every line it prints (stdout and stderr). */
  onLine?: (line: string) => void
  /** Every exit, expected or not. */
  onExit?: (exit: ProcessExit) => void
  /** Grace of stop() when none is given. */
  stopGraceMs?: number
}

const KEPT_LINES = 60

// Every child a handle started and that has not exited: SIGKILLed when this
// process exits, whatever the reason (a failed test, process.exit in a
// script), so that none outlives it.
const alive = new Set<ChildProcess>()
let exitHookInstalled = false
function track (child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => { for (const c of alive) c.kill('SIGKILL') })
  }
  alive.add(child)
  child.once('exit', () => alive.delete(child))
}

// The exit hook does not run when this process is killed by a signal (a test
// timing out, kill -9 of the script). On Linux, util-linux's setpriv asks the
// kernel to SIGKILL the child when its parent dies (PR_SET_PDEATHSIG), then
// execs the command: same pid, so signals still reach the command itself.
let pdeathsig: boolean | undefined
function parentDeathWrapper (): string[] {
  pdeathsig ??= process.platform === 'linux' && spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true']).status === 0
  return pdeathsig ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []
}

/** Spawns `spec` and waits until it is ready; the handle can start it again later. */
export async function startProcess (spec: ProcessSpec): Promise<ProcessHandle> {
  let child: ChildProcess | undefined
  let exit: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null, expected: true })
  let isPaused = false
  let expectExit = false
  const lines: string[] = []

  const isRunning = (): boolean => child?.pid !== undefined && child.exitCode === null && child.signalCode === null
  const output = (): string => lines.join('\n')

  const spawnOnce = (): ChildProcess => {
    const [command, ...args] = [...parentDeathWrapper(), spec.command, ...spec.args]
    const c = spawn(command ?? spec.command, args, {
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only the parent,
      // which stops things in order (apps drain before NATS goes).
      detached: true
    })
    track(c)
    for (const stream of [c.stdout, c.stderr]) {
      if (stream === null) continue
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line)
        if (lines.length > KEPT_LINES) lines.shift()
        spec.onLine?.(line)
      })
    }
    exit = new Promise((resolve) => {
      const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
        isPaused = false
        const how = { code, signal, expected: expectExit }
        spec.onExit?.(how)
        resolve(how)
      }
      c.once('exit', ended)
      // A command that cannot be spawned (not found) emits 'error', never 'exit'.
      c.once('error', (err) => {
        lines.push(`cannot run ${spec.command}: ${err.message}`)
        if (c.pid === undefined) ended(null, null)
      })
    })
    return c
  }

  const start = async (): Promise<void> => {
    if (isRunning()) throw new Error(`${spec.name} is already running`)
    expectExit = false
    isPaused = false
    const c = child = spawnOnce()
    const timeoutMs = spec.readyTimeoutMs ?? 30_000
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) {
        await exit
        throw new Error(`${spec.name} exited (${c.signalCode ?? `code ${String(c.exitCode)}`}) before it was ready:\n${output()}`)
      }
      if (await spec.ready().catch(() => false)) return
      if (Date.now() > deadline) {
        c.kill('SIGKILL')
        await exit
        throw new Error(`${spec.name} was not ready within ${timeoutMs / 1000} s:\n${output()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  const signal = (name: NodeJS.Signals): void => {
    if (isRunning()) child?.kill(name)
  }

  const handle: ProcessHandle = {
    name: spec.name,
    get pid () { return isRunning() ? child?.pid : undefined },
    running: isRunning,
    paused: () => isRunning() && isPaused,
    kill: async () => {
      if (!isRunning()) return
      expectExit = true
      signal('SIGKILL')
      await exit
    },
    stop: async (graceMs = spec.stopGraceMs ?? 15_000) => {
      if (!isRunning()) return
      expectExit = true
      signal('SIGTERM')
      // A stopped process keeps the SIGTERM pending until it continues.
      if (isPaused) handle.resume()
      const timer = setTimeout(() => signal('SIGKILL'), graceMs)
      await exit
      clearTimeout(timer)
    },
    pause: async () => {
      if (!isRunning()) throw new Error(`${spec.name} is not running`)
      signal('SIGSTOP')
      isPaused = true
      // The signal is delivered to each thread as it is next scheduled; on a
      // busy machine one may still answer a request before it stops.
      const pid = child?.pid
      if (pid !== undefined) await allThreadsStopped(pid)
    },
    resume: () => {
      signal('SIGCONT')
      isPaused = false
    },
    start,
    exited: async () => await exit,
    output
  }
  await start()
  return handle
}

/** A GET that answers with its status, or undefined when nothing answered within `timeoutMs`. */
/** Waits (up to 5 s) until /proc shows every thread of `pid` stopped (state T); off Linux, returns at once. */
async function allThreadsStopped (pid: number): Promise<void> {
  const deadline = Date.now() + 5_000
  while (Date.now() < deadline) {
    let states: string[]
    try {
      const tasks = await readdir(`/proc/${pid}/task`)
      states = await Promise.all(tasks.map(async (task) => {
        const stat = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8')
        // The state follows the command name, which is in parentheses and may hold spaces.
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
      }))
    } catch {
      return
    }
    if (states.every((state) => state === 'T' || state === 't')) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export async function httpStatus (url: string, timeoutMs = 1_000): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel()
    return res.status
  } catch {
    return undefined
  }
}
