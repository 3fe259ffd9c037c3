import { createServer, connect, type Socket } from 'node:net'
import type { Teardown } from '@metadome/testing'

export interface SilentProxy {
  /** ws://127.0.0.1:<port>/v1/ws, relayed to the gateway. */
  url: string
  /** Connections so far. */
  readonly connections: number
  /**
   * Stops relaying on every open connection without closing it, as a network
   * that drops packets does: neither side hears a close. New connections relay.
   */
  silence: () => void
}

/** A TCP relay in front of a gateway, to make its open connections go quiet. */
export async function startSilentProxy (t: Teardown, gatewayUrl: string): Promise<SilentProxy> {
  const target = new URL(gatewayUrl)
  const pairs = new Set<[Socket, Socket]>()
  let connections = 0
  const server = createServer((client) => {
    connections++
    const upstream = connect(Number(target.port), target.hostname)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => { b.destroy() })
      a.on('close', () => { pairs.delete(pair); b.destroy() })
      a.pipe(b)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const [a, b] of pairs) { a.destroy(); b.destroy() }
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `ws://127.0.0.1:${port}${target.pathname}`,
    get connections () { return connections },
    silence () {
      for (const [a, b] of pairs) {
        a.unpipe(b)
        b.unpipe(a)
        // Read and drop whatever still comes, so nothing backs up.
        a.on('data', () => {})
        b.on('data', () => {})
      }
    }
  }
}
