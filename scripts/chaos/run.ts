import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { namespace } from '@metadome/contracts'
import { until, type ProcessExit, type Stack } from '@metadome/testing'
import { createTraffic, type Traffic } from './traffic.js'
import { verify, type ChaosReport } from './verify.js'
import type { Fault, FaultContext } from './faults.js'

export interface ChaosOptions {
  stack: Stack
  /** What the apps were given as NATS_NAMESPACE. */
  namespace: string
  databaseUrl: string
  restartDatabase: () => Promise<void>
  /** How long traffic runs; the faults are spread over it. */
  seconds: number
  faults: Fault[]
  users?: number
  sendIntervalMs?: number
  password?: string
  log?: (line: string) => void
  /** Called with the traffic once it runs (tests look at it). */
  onTraffic?: (traffic: Traffic) => void
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Sustained direct and group traffic from SDK clients through the load
 * balancer while `faults` run one after another, spread over `seconds`; then
 * every process is made to run again, the system settles, and verify.ts
 * checks what was acked against what was stored and delivered.
 */
export async function runChaos (o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {})
  const sql = new pg.Pool({ connectionString: o.databaseUrl, max: 2 })
  // A restart of PostgreSQL ends this pool's connections too.
  sql.on('error', () => {})
  const traffic = await createTraffic({
    authUrl: o.stack.authApi.url,
    gatewayUrls: [o.stack.loadBalancer.wsUrl],
    users: o.users ?? 6,
    password: o.password ?? 'chaos correct horse battery',
    sendIntervalMs: o.sendIntervalMs,
    prefix: `chaos${randomBytes(3).toString('hex')}u`,
    log
  })
  o.onTraffic?.(traffic)
  const ctx: FaultContext = { stack: o.stack, chatStream: `${o.namespace}_CHAT`, ns: namespace(o.namespace), restartDatabase: o.restartDatabase, log }
  try {
    traffic.start()
    const started = Date.now()
    const step = (o.seconds * 1000) / (o.faults.length + 1)
    const ran: ChaosReport['faults'] = []
    for (const [i, fault] of o.faults.entries()) {
      await sleep(Math.max(0, started + step * (i + 1) - Date.now()))
      const at = ((Date.now() - started) / 1000).toFixed(1)
      log(`${at.padStart(6)} s  ${fault.name}`)
      const faultStarted = Date.now()
      await fault.run(ctx)
      const ended = Date.now()
      ran.push({ name: fault.name, startedAt: faultStarted, endedAt: ended })
      const acks = traffic.acked.filter((m) => m.ackedAt >= faultStarted && m.ackedAt <= ended).length
      const failed = traffic.failureTimes.filter((at) => at >= faultStarted && at <= ended).length
      log(`${' '.repeat(9)}back after ${((ended - faultStarted) / 1000).toFixed(1)} s (meanwhile ${acks} acks, ${failed} failed sends)`)
    }
    await sleep(Math.max(0, started + o.seconds * 1000 - Date.now()))
    await traffic.stop()
    log(`traffic stopped after ${((Date.now() - started) / 1000).toFixed(1)} s; settling`)
    // Whatever a failpoint crashed is started again by the supervisor; wait for it.
    await until(async () => o.stack.processes.every((p) => p.running() && !p.paused()), 60_000, 'every process running')
    return { ...await verify(traffic, sql), faults: ran }
  } finally {
    await traffic.close()
    await sql.end()
  }
}

/**
 * Starts again, a second later, any app that died on its own (a failpoint's
 * crash): what Kubernetes or systemd does in production. Exits a fault asked
 * for are left to the fault.
 */
export function crashSupervisor (log: (line: string) => void): { onExit: (name: string, exit: ProcessExit) => void, attach: (stack: Stack) => void, stop: () => void } {
  let stack: Stack | undefined
  let stopped = false
  // Crashes in a row per app, for the backoff; reset once it starts.
  const crashes = new Map<string, number>()
  return {
    attach: (s) => { stack = s },
    stop: () => { stopped = true },
    onExit: (name, exit) => {
      if (exit.expected || stopped) return
      const attempt = crashes.get(name) ?? 0
      crashes.set(name, attempt + 1)
      log(`${' '.repeat(9)}${name} crashed (${exit.signal ?? `code ${String(exit.code)}`}); starting it again`)
      // A start that fails exits again, which lands here: as an
      // orchestrator does, each time after a longer wait.
      setTimeout(() => {
        const handle = stack?.apps.find((a) => a.name === name)
        if (handle === undefined || handle.running() || stopped) return
        handle.start().then(() => { crashes.delete(name) }, (err: unknown) => {
          log(`${' '.repeat(9)}${name} did not start: ${String(err).split('\n')[0] ?? ''}`)
        })
      }, Math.min(10_000, 1_000 * 2 ** attempt))
    }
  }
}
