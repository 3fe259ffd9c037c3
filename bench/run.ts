// `npm run bench`: every benchmark, each beside the ceiling measured in the
// same run, printed as a table. Figures, not assertions: tests never time.
//
//   BENCH_ONLY=relay,gateway,group,writer,auth   run a subset
//   BENCH_SECONDS, BENCH_IDLE_SOCKETS, BENCH_WRITER_MESSAGES   shorten or lengthen
//   BENCH_PROFILE=<folder>   the apps started as processes write CPU profiles there
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { benchRelay } from './relay.js'
import { benchGateway } from './gateway.js'
import { benchWriter } from './writer.js'
import { benchGroup } from './group.js'

const only = new Set((process.env.BENCH_ONLY ?? 'relay,gateway,group,writer,auth').split(','))
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const idleSockets = Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000)
const log = (line: string): void => { process.stderr.write(`  ${line}\n`) }
const rows: Array<[string, string, string, string]> = []
const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)} %`
const n = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits })

if (only.has('relay') || only.has('gateway')) {
  process.stderr.write('bare relay (ceiling) ...\n')
  const relay = await benchRelay({ seconds, idleSockets, log })
  process.stderr.write('chat-gateway ...\n')
  const gateway = only.has('gateway') ? await benchGateway({ seconds, idleSockets, log }) : undefined
  rows.push(['delivered messages/s', n(relay.deliveredPerSecond), gateway === undefined ? '-' : n(gateway.deliveredPerSecond), gateway === undefined ? '' : `${pct(gateway.deliveredPerSecond, relay.deliveredPerSecond)} (target >= 50 %)`])
  if (gateway !== undefined) {
    rows.push([`latency p50 at half peak (${n(gateway.latencyRate)}/s)`, `${n(relay.latencyP50Ms, 1)} ms`, `${n(gateway.latencyP50Ms, 1)} ms`, ''])
    rows.push(['latency p99 at half peak', `${n(relay.latencyP99Ms, 1)} ms`, `${n(gateway.latencyP99Ms, 1)} ms`, 'target <= 5 ms'])
    rows.push(['server CPU per message', `${n(relay.cpuMicrosPerMessage)} µs`, `${n(gateway.cpuMicrosPerMessage)} µs`, ''])
    // Everything shares this machine's cores: where the rest of a message's CPU goes.
    for (const name of new Set([...Object.keys(gateway.otherCpuMicrosPerMessage), ...Object.keys(relay.otherCpuMicrosPerMessage)])) {
      const cell = (r: typeof relay): string => r.otherCpuMicrosPerMessage[name] === undefined ? '-' : `${n(r.otherCpuMicrosPerMessage[name])} µs`
      rows.push([`  ${name} CPU per message`, cell(relay), cell(gateway), ''])
    }
    rows.push([`memory per idle socket (${n(idleSockets)})`, `${n(relay.bytesPerIdleSocket / 1024, 1)} KiB`, `${n(gateway.bytesPerIdleSocket / 1024, 1)} KiB`, 'target <= 10 KiB'])
  }
}

if (only.has('group')) {
  process.stderr.write('group fan-out: one sender, 100 members on two servers (bare relays, then chat-gateways) ...\n')
  const group = await benchGroup({ seconds, log })
  rows.push([`group deliveries/s (${group.members} members)`, n(group.relay.deliveredPerSecond), n(group.gateway.deliveredPerSecond), pct(group.gateway.deliveredPerSecond, group.relay.deliveredPerSecond)])
  rows.push([`group delivery latency p99 at half peak (${n(group.gateway.latencyRate)} msg/s)`, `${n(group.relay.latencyP99Ms, 1)} ms`, `${n(group.gateway.latencyP99Ms, 1)} ms`, `p50 ${n(group.relay.latencyP50Ms, 1)} / ${n(group.gateway.latencyP50Ms, 1)} ms`])
}

if (only.has('writer')) {
  process.stderr.write('message-writer ...\n')
  const writer = await benchWriter({ messages: Number(process.env.BENCH_WRITER_MESSAGES ?? 100_000), log })
  rows.push(['writer rows/s into PostgreSQL (ceiling: consume + ack only)', n(writer.consumeAckPerSecond), n(writer.rowsPerSecond), `${pct(writer.rowsPerSecond, writer.consumeAckPerSecond)}; target >= 50,000${writer.exactlyOnce ? '' : '; NOT exactly once'}`])
  rows.push([`ack-to-row lag p99 (${n(writer.lagRate)}/s)`, '', `${n(writer.ackToRowLagP99Ms)} ms`, `p50 ${n(writer.ackToRowLagP50Ms)} ms`])
}

if (only.has('auth')) {
  // Its own process: libuv sizes the thread pool bcrypt runs on at start.
  process.stderr.write('auth-api login (its own process) ...\n')
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@metadome/source', 'bench/login.ts'], {
    cwd: fileURLToPath(new URL('../apps/auth-api/', import.meta.url)),
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(availableParallelism() + 4) },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  if (result.status !== 0) process.exitCode = 1
}

if (rows.length > 0) {
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[['', 'ceiling', 'metadome', 'ratio / target'], ...rows].map((r) => r[i]?.length ?? 0)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')
  process.stdout.write(`\n${line(['', 'ceiling', 'metadome', 'ratio / target'])}\n`)
  for (const r of rows) process.stdout.write(`${line(r)}\n`)
}
