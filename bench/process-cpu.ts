import { readdir, readFile } from 'node:fs/promises'

// CPU time of the processes a benchmark does not start itself (nats-server,
// PostgreSQL), read from Linux's /proc, so that a run can say where a
// message's CPU goes on a machine where everything shares the same cores.

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux build in use. */
const TICKS_PER_SECOND = 100

/**
 * CPU seconds (user + system) used so far by the running processes named
 * `comm` (as in /proc/<pid>/comm), summed; undefined without /proc.
 */
export async function processCpuSeconds (comm: string): Promise<number | undefined> {
  let pids: string[]
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name))
  } catch {
    return undefined
  }
  let ticks = 0
  for (const pid of pids) {
    let stat: string
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
    const open = stat.indexOf('(')
    const close = stat.lastIndexOf(')')
    if (stat.slice(open + 1, close) !== comm) continue
    const fields = stat.slice(close + 2).split(' ')
    ticks += Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of the line)
  }
  return ticks / TICKS_PER_SECOND
}

/** This process's CPU seconds (the load generator's). */
export function ownCpuSeconds (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}
