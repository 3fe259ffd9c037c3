import { fork, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { CountReply, LatencyReply, WorkerRequest } from './load-worker.js'
import type { PairSpec, WireKind } from './wire.js'
import { percentile } from './ws-load.js'
import { compiledScript } from './compiled.js'

// The parent's side of the load generators: N forked bench/load-worker.ts
// processes, the pairs spread round-robin over them, every phase started on
// all of them at once and their figures summed. Their own CPU is read at the
// same moments as the servers', so the table shows whether they were the cap.

const entry = fileURLToPath(new URL('./load-worker.ts', import.meta.url))

/** Load-generator processes: BENCH_LOAD_WORKERS, or one more than the cores (so one busy worker never is the limit). */
export function defaultWorkerCount (): number {
  const fromEnv = Number(process.env.BENCH_LOAD_WORKERS)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(3, availableParallelism() + 1)
}

class Worker {
  private next = 0
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  constructor (readonly child: ChildProcess) {
    child.on('message', (msg: { id: number, result?: unknown, error?: string }) => {
      const w = this.waiting.get(msg.id)
      this.waiting.delete(msg.id)
      if (msg.error !== undefined) w?.reject(new Error(`load worker: ${msg.error}`))
      else w?.resolve(msg.result)
    })
    child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load worker exited with ${code}`))
      this.waiting.clear()
    })
  }

  async call<T>(req: WorkerRequest): Promise<T> {
    const id = this.next++
    return await new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ id, req })
    })
  }
}

export interface LoadSnapshot {
  delivered: number
  /** CPU seconds of each worker so far. */
  cpuSeconds: number[]
  at: number
}

export class LoadGenerators {
  private constructor (private readonly workers: Worker[]) {}

  static async start (count = defaultWorkerCount()): Promise<LoadGenerators> {
    // Compiled, as the servers are (compiled.ts): under tsx the clients cost
    // more CPU per message, taken from the cores the servers share.
    const script = await compiledScript(entry)
    const workers = Array.from({ length: count }, () => new Worker(fork(script, [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })))
    const gens = new LoadGenerators(workers)
    // A first round trip: each worker has loaded and listens.
    await gens.snapshot()
    return gens
  }

  get size (): number { return this.workers.length }

  /** Opens the pairs, spread round-robin over the workers. */
  async open (kind: WireKind, pairs: PairSpec[]): Promise<void> {
    await Promise.all(this.workers.map(async (w, i) => await w.call({ op: 'open', kind, pairs: pairs.filter((_, k) => k % this.workers.length === i) })))
  }

  async snapshot (): Promise<LoadSnapshot> {
    const counts = await Promise.all(this.workers.map(async (w) => await w.call<CountReply>({ op: 'count' })))
    return { delivered: counts.reduce((s, c) => s + c.delivered, 0), cpuSeconds: counts.map((c) => c.cpuSeconds), at: performance.now() }
  }

  async saturate (window: number, bodyBytes: number): Promise<void> {
    await Promise.all(this.workers.map(async (w) => await w.call({ op: 'saturate', window, bodyBytes })))
  }

  async halt (): Promise<void> {
    await Promise.all(this.workers.map(async (w) => await w.call({ op: 'halt' })))
  }

  /** Latency at `rate` messages/s in total, each worker sending its share; samples merged. */
  async latency (rate: number, seconds: number, bodyBytes: number): Promise<{ p50Ms: number, p99Ms: number, samples: number, sent: number }> {
    const replies = await Promise.all(this.workers.map(async (w) => await w.call<LatencyReply>({ op: 'latency', rate: rate / this.workers.length, seconds, bodyBytes })))
    const samples = replies.flatMap((r) => r.samples).sort((a, b) => a - b)
    return { p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99), samples: samples.length, sent: replies.reduce((s, r) => s + r.sent, 0) }
  }

  async close (): Promise<void> {
    await Promise.all(this.workers.map(async (w) => {
      if (w.child.exitCode !== null) return
      const exited = new Promise((resolve) => w.child.once('exit', resolve))
      try {
        await w.call({ op: 'close' })
      } catch { /* gone already */ }
      w.child.disconnect()
      await exited
    }))
  }
}
