import { connect } from 'node:net'
import fc from 'fast-check'
import type { Route } from './http-fuzz.js'

// What fetch refuses to send: bytes on a bare TCP socket. Control bytes and
// CR/LF in headers, headers past Node's 16 KiB limit, conflicting or bogus
// Content-Length and Transfer-Encoding, odd request lines. Every request is
// complete as written (or malformed before its end), with Connection:
// close, so the server always has what it needs to answer: no answer is a
// hang, not a slow client.
//

export interface RawRequest {
  requestLine: string
  headers: string[]
  /** How the body's length is told: correctly, or wrongly in one of the ways below. */
  framing: 'length' | 'none' | 'short-length' | 'bogus-length' | 'two-lengths' | 'chunked' | 'bad-chunk' | 'chunked-and-length' | 'gzip-only'
  body: number[]
}

const REQUEST_LINE_TWISTS: Array<(method: string, path: string) => string> = [
  (m, p) => `${m} ${p} HTTP/1.1`,
  (m, p) => `${m} ${p} HTTP/1.0`,
  (m, p) => `${m} ${p} HTTP/2.0`,
  (m, p) => `${m} ${p} HTTP/1.2`,
  (m, p) => `${m} ${p} HTTP/9`,
  (m, p) => `${m} ${p}`,
  (m, p) => `${m}  ${p} HTTP/1.1`,
  (m, p) => `${m.toLowerCase()} ${p} HTTP/1.1`,
  (m, p) => `${m} http://evil.example${p} HTTP/1.1`,
  (m) => `${m} * HTTP/1.1`,
  (m, p) => `${m} ${p}\u0000 HTTP/1.1`,
  (m, p) => `${m} ${p}#frag HTTP/1.1`,
  (m, p) => `${m} ${p.replace('/v1', '/v1/\u00e9')} HTTP/1.1`,
  (_m, p) => `G\u0001T ${p} HTTP/1.1`,
  (_m, p) => `BREW ${p} HTTP/1.1`,
  (m, p) => `\r\n${m} ${p} HTTP/1.1`
]

const ODD_HEADERS = ['X-A: \u0000', 'X-A: a\rb', 'NoColon', ' folded: x', 'X-A:\tx', 'X A: x', ': empty-name', 'X-A: \u00ff\u00fe', 'Authorization: Bearer \u00ff', 'Authorization:',
  'Host:', 'Host: a', 'Host: evil.example', 'Expect: 100-continue', 'Connection: upgrade', 'Upgrade: websocket', 'Content-Type: application/json', 'Content-Type: text/plain',
  'Content-Type: application/json; charset=utf-16', 'Content-Encoding: gzip', 'Content-Encoding: br', 'X-Forwarded-For: ::1, 10.0.0.1, garbage', 'Accept: */*']

export function rawRequest (routes: readonly Route[]): fc.Arbitrary<RawRequest> {
  const requestLine = fc.tuple(fc.constantFrom(...routes), fc.nat(REQUEST_LINE_TWISTS.length - 1), fc.boolean())
    .map(([route, twist, straight]) => (REQUEST_LINE_TWISTS[straight ? 0 : twist] as (m: string, p: string) => string)(route.method, route.template.replaceAll(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000')))
  const header = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ODD_HEADERS) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X-Big', 'Cookie', 'Authorization'), fc.integer({ min: 10_000, max: 70_000 })).map(([name, n]) => `${name}: ${name === 'Authorization' ? 'Bearer ' : ''}${'b'.repeat(n)}`) }
  )
  const body = fc.oneof(
    fc.constant<number[]>([]),
    fc.json().map((j) => [...Buffer.from(j)]),
    fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 })
  )
  return fc.record({
    requestLine,
    headers: fc.array(header, { maxLength: 4 }),
    framing: fc.constantFrom('length', 'length', 'none', 'short-length', 'bogus-length', 'two-lengths', 'chunked', 'bad-chunk', 'chunked-and-length', 'gzip-only'),
    body
  })
}

export function bytesOf (r: RawRequest): Buffer {
  const body = Buffer.from(r.body)
  const framing: Record<RawRequest['framing'], { headers: string[], body: Buffer }> = {
    length: { headers: [`Content-Length: ${body.length}`], body },
    none: { headers: [], body: Buffer.alloc(0) },
    'short-length': { headers: [`Content-Length: ${Math.max(0, body.length - 1)}`], body },
    'bogus-length': { headers: ['Content-Length: -1'], body },
    'two-lengths': { headers: [`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`], body },
    chunked: { headers: ['Transfer-Encoding: chunked'], body: Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(body.length === 0 ? '\r\n' : '\r\n0\r\n\r\n')]) },
    'bad-chunk': { headers: ['Transfer-Encoding: chunked'], body: Buffer.from('zz\r\nabc\r\n0\r\n\r\n') },
    'chunked-and-length': { headers: ['Transfer-Encoding: chunked', `Content-Length: ${body.length + 5}`], body: Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) },
    'gzip-only': { headers: ['Transfer-Encoding: gzip'], body }
  }
  const { headers, body: sent } = framing[r.framing]
  const hasHost = r.headers.some((h) => /^host:/i.test(h))
  const head = [r.requestLine, ...(hasHost ? [] : ['Host: 127.0.0.1']), ...r.headers, ...headers, 'Connection: close'].join('\r\n')
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), sent])
}

/** Writes `r` to port and resolves with the status of the first final answer, 0 if none came before the server closed or the timeout. */
export async function sendRaw (port: number, r: RawRequest, timeoutMs = 5_000): Promise<{ status: number, head: string }> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const done = (): void => {
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])).filter((s) => s >= 200)
      resolve({ status: statuses[0] ?? 0, head: text.slice(0, 200) })
    }
    const timer = setTimeout(done, timeoutMs)
    socket.on('data', (c) => chunks.push(c))
    socket.on('close', done)
    socket.on('error', () => {})
    socket.write(bytesOf(r))
  })
}
