import { Writable } from 'node:stream'

export interface CapturedLogs {
  /** Pass as a logger `destination`. */
  stream: Writable
  /** Every line written so far, raw. */
  lines: string[]
  /** Every line parsed as JSON (pino's format). */
  entries: () => Array<Record<string, unknown>>
}

/** Captures an app's log lines, to assert on what was (and was not) logged. */
export function captureLogs (): CapturedLogs {
  const lines: string[] = []
  let partial = ''
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      const text = partial + chunk.toString('utf8')
      const parts = text.split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts.filter((line) => line !== ''))
      callback()
    }
  })
  return {
    stream,
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}
