import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Teardown, tempDir } from '@metadome/testing'
import type { Stack } from '@metadome/e2e'

export const BIN = fileURLToPath(new URL('../../bin/metadome.js', import.meta.url))

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** A config folder of its own (one per person, or per device), removed at teardown. */
export async function newHome (t: Teardown): Promise<string> {
  const dir = await tempDir(t, 'mdcli-')
  return dir
}

export function cliEnv (stack: Stack | undefined, home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, METADOME_HOME: home, ...extra }
  if (stack !== undefined) {
    env.METADOME_AUTH_URL = stack.authUrl
    env.METADOME_GATEWAY_URL = stack.gatewayUrls.join(',')
  }
  return env
}

/** Starts `metadome <args>` as a user would (the bin), with pipes. */
export function start (env: NodeJS.ProcessEnv, args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { env, stdio: 'pipe' })
}

/** Runs `metadome <args>` to its end (asynchronously: the servers run in this process). */
export async function run (env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<Result> {
  const child = start(env, args)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8') })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8') })
  child.stdin.end(input ?? '')
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  return { code, stdout, stderr }
}

/** Collects a running child's output and resolves when it contains `text`. */
export function watch (child: ChildProcessWithoutNullStreams): { out: () => string, waitFor: (text: string) => Promise<void> } {
  let out = ''
  const waiters: Array<() => void> = []
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8')
    for (const w of waiters.splice(0)) w()
  })
  child.stderr.on('data', (d: Buffer) => { out += d.toString('utf8') })
  return {
    out: () => out,
    waitFor: async (text) => {
      while (!out.includes(text)) {
        if (child.exitCode !== null) throw new Error(`metadome exited (${child.exitCode}) before printing ${JSON.stringify(text)}:\n${out}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          child.once('exit', () => resolve())
        })
      }
    }
  }
}
