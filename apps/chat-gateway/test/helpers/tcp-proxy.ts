import { createServer, connect, type Socket } from 'node:net'
import type { Teardown } from '@metadome/testing'

export interface TcpProxy {
  url: string
  /** Cuts every connection and refuses new ones: a network partition. */
  partition: () => void
  /** Accepts connections again. */
  heal: () => void
}

/** A TCP relay to a NATS server, to cut one app's connection while others keep theirs. */
export async function startTcpProxy (t: Teardown, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let refusing = false
  const server = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, '127.0.0.1')
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a)
      a.on('error', () => { b.destroy() })
      a.on('close', () => { sockets.delete(a); b.destroy() })
      a.pipe(b)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `nats://127.0.0.1:${port}`,
    partition () {
      refusing = true
      for (const s of sockets) s.destroy()
    },
    heal () { refusing = false }
  }
}
