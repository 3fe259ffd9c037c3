import { freePort } from '../nats.js'

/**
 * `count` distinct free loopback ports. freePort() lets the system pick one
 * and releases it, so two calls can hand out the same port: keep asking.
 */
export async function freePorts (count: number, taken: Iterable<number> = []): Promise<number[]> {
  const seen = new Set(taken)
  const ports: number[] = []
  while (ports.length < count) {
    const port = await freePort()
    if (seen.has(port)) continue
    seen.add(port)
    ports.push(port)
  }
  return ports
}
