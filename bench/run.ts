// `npm run bench`: every benchmark, each beside the ceiling measured in the
// same run, printed as a table. Figures, not assertions: tests never time.
//
//   BENCH_ONLY=relay,gateway,socketio,group,writer,idle,auth   run a subset
//   BENCH_STORM_SOCKETS (19000)   idle sockets on one gateway for `idle` (memory per socket, connect storms)
//   BENCH_SECONDS, BENCH_IDLE_SOCKETS, BENCH_WRITER_MESSAGES   shorten or lengthen
//   BENCH_SERVERS (2)   server processes of the direct-message workload (senders on the first, recipients on the last)
//   BENCH_PAIRS (50), BENCH_WINDOW (20)   its sender/recipient pairs, and the messages each sender keeps in flight at saturation
//   BENCH_LOAD_WORKERS   load-generator processes; BENCH_LOAD_POINTS=0.25,0.5,0.75,0.9   offered loads of the latency curve
//   BENCH_PROFILE=<folder>   the apps started as processes write CPU profiles there
//
// Every figure goes to bench/results/<time>.json, and the latency curves to
// bench/results/<time>-latency.svg.
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { benchRelay } from './relay.js'
import { benchGateway } from './gateway.js'
import { benchSocketIo } from './socketio.js'
import type { BenchWriterResult } from './writer.js'
import { compiledEntry } from './compiled.js'
import { WRITER_NODE_ARGS } from './writer-node-args.js'
import { benchGroup } from './group.js'
import { benchIdleSockets } from './idle-sockets.js'
import { defaultWorkerCount } from './load.js'
import { latencyChart, type ChartSeries } from './chart.js'
import type { ChatBenchOptions, ChatBenchResult } from './chat-workload.js'

const only = new Set((process.env.BENCH_ONLY ?? 'relay,gateway,socketio,group,writer,idle,auth').split(','))
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const idleSockets = Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000)
const log = (line: string): void => { process.stderr.write(`  ${line}\n`) }
// [label, ceiling, metadome, ratio / target], or with the Socket.IO+Redis peer's figure before the ratio.
const rows: Array<[string, string, string, string] | [string, string, string, string, string]> = []
const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)} %`
const n = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits })
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), seconds, idleSockets }

if (only.has('relay') || only.has('gateway') || only.has('socketio')) {
  const chat: ChatBenchOptions = {
    seconds,
    idleSockets,
    servers: Number(process.env.BENCH_SERVERS ?? 2),
    pairs: Number(process.env.BENCH_PAIRS ?? 50),
    window: Number(process.env.BENCH_WINDOW ?? 20),
    loadWorkers: defaultWorkerCount(),
    ...(process.env.BENCH_LOAD_POINTS === undefined ? {} : { loadPoints: process.env.BENCH_LOAD_POINTS.split(',').map(Number) }),
    log
  }
  process.stderr.write(`direct messages: ${chat.pairs} pairs, ${chat.window} in flight each, ${chat.servers} server processes each, ${chat.loadWorkers} load-generator processes\n`)
  process.stderr.write('bare relay (ceiling) ...\n')
  const relay = await benchRelay(chat)
  if (only.has('gateway')) process.stderr.write('chat-gateway ...\n')
  const gateway = only.has('gateway') ? await benchGateway(chat) : undefined
  if (only.has('socketio')) process.stderr.write('Socket.IO with @socket.io/redis-adapter (the peer) ...\n')
  const sio = only.has('socketio') ? await benchSocketIo(chat) : undefined
  results.directMessages = { options: { ...chat, log: undefined }, relay, gateway, socketio: sio }
  const cell = (r: ChatBenchResult | undefined, f: (r: ChatBenchResult) => string): string => r === undefined ? '-' : f(r)
  const us = (x: number | undefined): string => x === undefined ? '-' : `${n(x)} µs`
  const row = (label: string, f: (r: ChatBenchResult) => string, ratio = ''): void => { rows.push([label, f(relay), cell(gateway, f), cell(sio, f), ratio]) }
  const vsPeer = gateway !== undefined && sio !== undefined ? `; ${pct(gateway.deliveredPerSecond, sio.deliveredPerSecond)} of Socket.IO (target >= 100 %)` : ''
  row('delivered messages/s', (r) => n(r.deliveredPerSecond), gateway === undefined ? '' : `${pct(gateway.deliveredPerSecond, relay.deliveredPerSecond)} of relay${vsPeer}`)
  row('latency p50 at half peak', (r) => `${n(r.latencyP50Ms, 1)} ms (${n(r.latencyRate)}/s)`)
  row('latency p99 at half peak', (r) => `${n(r.latencyP99Ms, 1)} ms`, gateway === undefined ? '' : `${(gateway.latencyP99Ms / relay.latencyP99Ms).toFixed(1)}x relay (target <= 2x)`)
  row(`server CPU per message (${chat.servers} processes)`, (r) => us(r.cpuMicrosPerMessage), gateway === undefined ? '' : `${(gateway.cpuMicrosPerMessage / relay.cpuMicrosPerMessage).toFixed(1)}x relay (target <= 2x)`)
  // Everything shares this machine's cores: where the rest of a message's CPU goes.
  const others = [...new Set([relay, gateway, sio].flatMap((r) => r === undefined ? [] : Object.keys(r.otherCpuMicrosPerMessage)))]
  for (const name of others) row(`  ${name} CPU per message`, (r) => us(r.otherCpuMicrosPerMessage[name]))
  const wholePath = (r: ChatBenchResult): number => r.cpuMicrosPerMessage + Object.values(r.otherCpuMicrosPerMessage).reduce((a, b) => a + b, 0)
  row('  whole server path CPU per message', (r) => us(wholePath(r)), gateway === undefined ? '' : `${(wholePath(gateway) / wholePath(relay)).toFixed(1)}x relay (target <= 4x)`)
  row('  load generators CPU per message', (r) => `${us(r.loadGenerators.cpuMicrosPerMessage)}, busiest ${n(r.loadGenerators.busiestCorePercent)} % of a core`)
  row(`memory per idle socket (${n(idleSockets)})`, (r) => `${n(r.bytesPerIdleSocket / 1024, 1)} KiB`, 'target <= 10 KiB')
  const series: ChartSeries[] = []
  for (const [name, r] of [['bare relay (NATS)', relay], ['metadome chat-gateway', gateway], ['Socket.IO + Redis adapter', sio]] as const) {
    if (r !== undefined) series.push({ name, points: r.latencyCurve })
  }
  results.latencyChart = latencyChart(series, `Direct messages across ${chat.servers} servers: latency against offered load`)
}

if (only.has('group')) {
  process.stderr.write('group fan-out: one sender, 100 members on two servers (bare relays, then chat-gateways) ...\n')
  const group = await benchGroup({ seconds, log })
  results.group = group
  rows.push([`group deliveries/s (${group.members} members)`, n(group.relay.deliveredPerSecond), n(group.gateway.deliveredPerSecond), pct(group.gateway.deliveredPerSecond, group.relay.deliveredPerSecond)])
  rows.push([`group delivery latency p99 at half peak (${n(group.gateway.latencyRate)} msg/s)`, `${n(group.relay.latencyP99Ms, 1)} ms`, `${n(group.gateway.latencyP99Ms, 1)} ms`, `p50 ${n(group.relay.latencyP50Ms, 1)} / ${n(group.gateway.latencyP50Ms, 1)} ms`])
}

if (only.has('writer')) {
  process.stderr.write('message-writer ...\n')
  // Its own process, compiled as the apps are (compiled.ts): the writer and
  // its bare-consumer ceiling run in it, and its CPU is theirs.
  const child = spawnSync(process.execPath, [...WRITER_NODE_ARGS, ...await compiledEntry('bench/writer.ts'), process.env.BENCH_WRITER_MESSAGES ?? '100000'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 })
  if (child.status !== 0) throw new Error(`bench/writer.ts exited with ${child.status}`)
  const writer = JSON.parse(child.stdout) as BenchWriterResult
  results.writer = writer
  rows.push(['writer rows/s into PostgreSQL (ceiling: consume + ack only)', n(writer.consumeAckPerSecond), n(writer.rowsPerSecond), `${pct(writer.rowsPerSecond, writer.consumeAckPerSecond)} (target >= 90 %)${writer.exactlyOnce ? '' : '; NOT exactly once'}`])
  rows.push([`ack-to-row lag p99 (${n(writer.lagRate)}/s)`, '', `${n(writer.ackToRowLagP99Ms)} ms`, `p50 ${n(writer.ackToRowLagP50Ms)} ms; target p99 <= 250 ms`])
  rows.push(['  writer CPU per row (draining)', `${n(writer.consumeAckCpuMicrosPerMessage, 1)} µs`, `${n(writer.writerCpuMicrosPerRow, 1)} µs`, ''])
  rows.push(['  PostgreSQL CPU per row (its backends)', '', writer.postgresCpuMicrosPerRow === undefined ? '-' : `${n(writer.postgresCpuMicrosPerRow, 1)} µs`, 'backends of the writer\'s database'])
}

if (only.has('idle')) {
  const sockets = Number(process.env.BENCH_STORM_SOCKETS ?? 19_000)
  process.stderr.write(`${n(sockets)} idle sockets on one gateway, clients in several processes ...\n`)
  const idle = await benchIdleSockets({ sockets, log })
  results.idleSockets = idle
  rows.push([`gateway RSS per idle socket (${n(idle.sockets)})`, '', `${n(idle.rssBytesPerSocket / 1024, 1)} KiB`, `heap ${n(idle.heapBytesPerSocket / 1024, 1)} KiB; target <= 6 KiB`])
  const c = idle.ceiling
  rows.push(['connects/s, all at once', n(c.connectPerSecond), n(idle.connectPerSecond), `${pct(idle.connectPerSecond, c.connectPerSecond)}; after a restart ${n(idle.reconnectPerSecond)}/s; target >= 5,000/s`])
  rows.push(['  CPU per connect (server, nats-server)', `${n(c.cpuMicrosPerConnect)} µs, ${n(c.natsMicrosPerConnect)} µs`, `${n(idle.cpuMicrosPerConnect)} µs, ${n(idle.natsMicrosPerConnect)} µs`, `server ${(idle.cpuMicrosPerConnect / c.cpuMicrosPerConnect).toFixed(1)}×`])
  rows.push(['  CPU per connect (message-writer, PostgreSQL)', '', `${n(idle.writerMicrosPerConnect)} µs, ${n(idle.postgresMicrosPerConnect)} µs`, ''])
  rows.push(['  clients\' CPU per connect (same cores)', `${n(c.clientMicrosPerConnect)} µs`, `${n(idle.clientMicrosPerConnect)} µs`, `after a restart ${n(idle.clientMicrosPerReconnect)} µs`])
  rows.push(['  delivered to sampled idle users', '', `${idle.delivered} of ${idle.sampled}`, ''])
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
  const header = ['', 'ceiling', 'metadome', 'Socket.IO+Redis', 'ratio / target']
  // A four-cell row has no Socket.IO figure: its ratio goes to the last column.
  const full = rows.map((r) => r.length === 5 ? r : [r[0], r[1], r[2], '', r[3]])
  const widths = header.map((_, i) => Math.max(...[header, ...full].map((r) => r[i]?.length ?? 0)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  process.stdout.write(`\n${line(header)}\n`)
  for (const r of full) process.stdout.write(`${line(r)}\n`)
  results.table = full

  const folder = fileURLToPath(new URL('./results/', import.meta.url))
  const stamp = String(results.startedAt).replace(/[:.]/g, '-')
  await mkdir(folder, { recursive: true })
  const { latencyChart: svg, ...figures } = results
  await writeFile(`${folder}${stamp}.json`, `${JSON.stringify(figures, null, 2)}\n`)
  process.stdout.write(`\nevery figure: bench/results/${stamp}.json\n`)
  if (typeof svg === 'string') {
    await writeFile(`${folder}${stamp}-latency.svg`, svg)
    process.stdout.write(`latency chart: bench/results/${stamp}-latency.svg\n`)
  }
}
