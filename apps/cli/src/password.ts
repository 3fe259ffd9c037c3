import { createInterface } from 'node:readline'
import { UsageError } from './errors.js'

/**
 * The password: from --password, else METADOME_PASSWORD, else asked on the
 * terminal without echo (twice when choosing one), else the first line of
 * stdin (for scripts: `printf '%s\n' "$pw" | metadome login alice`).
 */
export async function readPassword (flag: string | undefined, options: { confirm?: boolean } = {}): Promise<string> {
  if (flag !== undefined) return flag
  const env = process.env.METADOME_PASSWORD
  if (env !== undefined && env !== '') return env
  if (process.stdin.isTTY !== true) {
    const first = await firstLine()
    if (first === undefined || first === '') throw new UsageError('no password: give --password, METADOME_PASSWORD, or a line on stdin')
    return first
  }
  const pw = await ask('password: ')
  if (options.confirm === true && await ask('again: ') !== pw) throw new UsageError('the two passwords differ')
  return pw
}

async function firstLine (): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin })
  try {
    for await (const line of rl) return line
    return undefined
  } finally {
    rl.close()
  }
}

/** Asks on the terminal, echoing nothing of what is typed. */
async function ask (prompt: string): Promise<string> {
  process.stdout.write(prompt)
  const rl = createInterface({ input: process.stdin, terminal: true })
  // readline echoes through its output; with none, typed characters stay hidden.
  return await new Promise<string>((resolve) => {
    rl.question('', (answer) => {
      rl.close()
      process.stdout.write('\n')
      resolve(answer)
    })
  })
}

/**
 * A one-time code or a token: from the flag, else asked on the terminal
 * (shown as typed: it is useless once used), else the next line of stdin.
 */
export async function readCode (flag: string | undefined, prompt: string): Promise<string> {
  if (flag !== undefined && flag !== '') return flag.trim()
  if (process.stdin.isTTY !== true) {
    const first = await firstLine()
    if (first === undefined || first.trim() === '') throw new UsageError('no code: give --code, or a line on stdin')
    return first.trim()
  }
  process.stdout.write(prompt)
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  return await new Promise<string>((resolve) => {
    rl.question('', (answer) => {
      rl.close()
      resolve(answer.trim())
    })
  })
}
