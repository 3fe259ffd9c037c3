import type { AppProcess, ProcessHandle, Stack } from '@metadome/testing'
import type { Namespace } from '@metadome/contracts'

// The faults of a chaos run, each one thing an operator's bad day brings,
// done to the real processes: kill -9, SIGTERM, SIGSTOP/SIGCONT, a NATS
// node gone, PostgreSQL restarted. Each puts things back before it resolves.

export interface FaultContext {
  stack: Stack
  /** The CHAT stream's name (namespaced). */
  chatStream: string
  /** The apps' NATS_NAMESPACE. */
  ns: Namespace
  /** Restarts PostgreSQL (its connections are cut; it is back when this resolves). */
  restartDatabase: () => Promise<void>
  log: (line: string) => void
}

export interface Fault {
  name: string
  run: (ctx: FaultContext) => Promise<void>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function pick<T extends ProcessHandle> (list: T[], index: number, what: string): T {
  const found = list[index % list.length]
  if (found === undefined) throw new Error(`no ${what} to fault`)
  return found
}

/** kill -9 one gateway or writer, and start it again `downMs` later. */
const killApp = (which: 'gateway' | 'writer', index: number, downMs: number): Fault => ({
  name: `kill -9 ${which} ${index + 1}, start it ${downMs / 1000} s later`,
  run: async ({ stack }) => {
    const app = pick(which === 'gateway' ? stack.gateways : stack.writers, index, which)
    await app.kill()
    await sleep(downMs)
    await app.start()
  }
})

export const killGateway = (index: number, downMs = 2_000): Fault => killApp('gateway', index, downMs)

export const drainGateway = (index: number): Fault => ({
  name: `SIGTERM gateway ${index + 1} (it drains), start it again`,
  run: async ({ stack }) => {
    const g = pick(stack.gateways, index, 'gateway')
    await g.stop()
    await g.start()
  }
})

export const pause = (which: 'gateway' | 'writer', index: number, pausedMs: number): Fault => ({
  name: `pause ${which} ${index + 1} (SIGSTOP) for ${pausedMs / 1000} s`,
  run: async ({ stack }) => {
    const p: AppProcess = pick(which === 'gateway' ? stack.gateways : stack.writers, index, which)
    await p.pause()
    await sleep(pausedMs)
    p.resume()
  }
})

export const killWriter = (index: number, downMs = 2_000): Fault => killApp('writer', index, downMs)

/**
 * kill -9 the NATS node leading CHAT, start it `downMs` later. With
 * `writerConsumers`, the writer's two durable consumers (CHAT and USERS) are
 * first made to be led from that node, so their leaders die with it too.
 */
export const killChatLeader = (downMs = 5_000, { writerConsumers = false } = {}): Fault => ({
  name: `kill -9 the NATS node leading CHAT${writerConsumers ? ' and the writer\'s consumers' : ''}, start it ${downMs / 1000} s later`,
  run: async ({ stack, chatStream, ns, log }) => {
    const leader = await stack.nats.streamLeader(chatStream)
    if (leader === undefined) throw new Error(`${chatStream} has no leader to kill`)
    if (writerConsumers) {
      await stack.nats.moveConsumerLeader(chatStream, ns.consumer('writer'), leader)
      await stack.nats.moveConsumerLeader(ns.stream('USERS'), ns.consumer('writer_users'), leader)
    }
    log(`  (${leader.serverName} leads ${chatStream}${writerConsumers ? ' and the writer\'s consumers' : ''})`)
    await leader.kill()
    await sleep(downMs)
    await leader.start()
  }
})

export const restartPostgres = (): Fault => ({
  name: 'restart PostgreSQL',
  run: async ({ restartDatabase }) => { await restartDatabase() }
})

/** Every kind of fault once, in an order that gives each a system that recovered from the last. */
export const everyFault = (): Fault[] => [
  killGateway(0),
  pause('writer', 1, 3_000),
  killChatLeader(),
  restartPostgres(),
  drainGateway(1),
  killWriter(1),
  pause('gateway', 2, 2_000)
]
