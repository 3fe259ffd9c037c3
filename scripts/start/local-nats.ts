import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { natsServers } from '@metadome/nats'

export interface LocalNats {
  url: string
  /** Set when this script started nats-server itself. */
  stop?: () => Promise<void>
}

export const HOW_TO_GET_NATS = [
  'No NATS server answers at NATS_URL and no nats-server is on the PATH.',
  'Install one and run npm start again:',
  '  Debian/Ubuntu: sudo apt-get install nats-server',
  '  macOS:         brew install nats-server',
  '  container:     docker run -p 4222:4222 nats:2.10 -js',
  'or point NATS_URL at a running server with JetStream enabled.'
].join('\n')

async function answers (url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: natsServers(url), timeout: 1_000, reconnect: false })
    try {
      await jetstreamManager(nc)
      return true
    } finally {
      await nc.close()
    }
  } catch {
    return false
  }
}

/**
 * The NATS at `url` if one answers; otherwise a nats-server from the PATH
 * started with JetStream on that address, its store under `<dataDir>/nats`.
 */
export async function ensureNats (url: string, dataDir: string, log: (line: string) => void): Promise<LocalNats> {
  if (await answers(url)) {
    log(`using NATS at ${url}`)
    return { url }
  }
  const found = spawnSync('nats-server', ['--version'], { encoding: 'utf8' })
  if (found.error !== undefined) throw new Error(HOW_TO_GET_NATS)

  const first = new URL((natsServers(url)[0] ?? 'nats://127.0.0.1:4222').replace(/^(?!\w+:\/\/)/, 'nats://'))
  const host = first.hostname === 'localhost' ? '127.0.0.1' : first.hostname
  const port = first.port === '' ? '4222' : first.port
  const storeDir = join(dataDir, 'nats')
  await mkdir(storeDir, { recursive: true })
  log(`starting ${found.stdout.trim()} with JetStream on ${host}:${port}, store in ${storeDir}`)
  const child: ChildProcess = spawn('nats-server', ['-a', host, '-p', port, '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: a terminal's Ctrl-C must not stop NATS before the
    // apps have drained into it; shutdown() stops it last.
    detached: true
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })

  const localUrl = `nats://${host}:${port}`
  const deadline = Date.now() + 10_000
  while (!(await answers(localUrl))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`nats-server did not start on ${host}:${port}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url: localUrl,
    stop: async () => {
      if (child.exitCode !== null) return
      await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
    }
  }
}
