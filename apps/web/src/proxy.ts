import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { Duplex } from 'node:stream'

// The page reaches auth-api and the gateways through the server that served
// it, at /api/auth and /api/gateway, rather than at their own addresses:
//
// - The gateways have no CORS (their REST routes, which the SDK calls for
//   group changes, would be refused cross-origin), and auth-api's CORS would
//   have to list the page's origin: one origin needs neither.
// - The page's Content-Security-Policy can then say connect-src 'self': a
//   script injected despite everything cannot send keys or tokens elsewhere.
//
// Requests are forwarded as they are (hop-by-hop headers aside) with
// X-Forwarded-For/-Proto/-Host; WebSocket upgrades are joined byte for byte
// to a gateway, tried in turn from a rotating start so that sockets spread
// over several and a dead one is skipped.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'cookie'])

function forwardedHeaders (req: IncomingMessage, upstream: URL): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value
  }
  headers.host = upstream.host
  const prior = req.headers['x-forwarded-for']
  const client = req.socket.remoteAddress ?? ''
  headers['x-forwarded-for'] = typeof prior === 'string' && prior !== '' ? `${prior}, ${client}` : client
  headers['x-forwarded-proto'] = 'encrypted' in req.socket ? 'https' : 'http'
  if (req.headers.host !== undefined) headers['x-forwarded-host'] = req.headers.host
  return headers
}

/** How long an upstream may take to answer a request (then 504). */
const UPSTREAM_TIMEOUT_MS = 30_000

/** A path with "." or ".." segments (perhaps percent-encoded) would step out of the upstream's own path. */
export class BadPath extends Error {}

/** `base` (an http(s) URL, perhaps with a path) joined with the rest of the request's path and its query. */
export function upstreamUrl (base: string, rest: string): URL {
  const u = new URL(base)
  const [path = '', query] = rest.split('?', 2)
  if (path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) throw new BadPath(`no dot segments: ${path}`)
  u.pathname = u.pathname.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`)
  u.search = query === undefined ? '' : `?${query}`
  return u
}

/** Request bodies are JSON of a few KiB; the APIs' own limits are below this. */
const MAX_BODY_BYTES = 1024 * 1024

async function readBody (req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}

function sendError (res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error: { code, message } }))
}

/**
 * Forwards one HTTP request to the first of `bases` (from `start`) that
 * accepts a connection and streams the answer back. The body is read first,
 * so that it can go to the next server when one is down.
 */
export async function forwardRequest (req: IncomingMessage, res: ServerResponse, bases: string[], rest: string, start = 0): Promise<void> {
  const body = await readBody(req)
  if (body === undefined) {
    sendError(res, 413, 'too_large', `request bodies are at most ${MAX_BODY_BYTES} bytes`)
    return
  }
  const attempt = (i: number): void => {
    const base = bases[(start + i) % bases.length]
    if (base === undefined || i >= bases.length) {
      sendError(res, 502, 'unavailable', 'the server behind this page does not answer')
      return
    }
    let target: URL
    try {
      target = upstreamUrl(base, rest)
    } catch (err) {
      if (!(err instanceof BadPath)) throw err
      sendError(res, 400, 'bad_request', err.message)
      return
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const upstream = send(target, { method: req.method, headers: { ...forwardedHeaders(req, target), 'content-length': String(body.length) } }, (answer) => {
      const headers: OutgoingHttpHeaders = {}
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'set-cookie') headers[name] = value
      }
      res.writeHead(answer.statusCode ?? 502, headers)
      answer.pipe(res)
    })
    let connected = false
    upstream.on('socket', (socket: Socket) => {
      if (!socket.connecting) connected = true
      else socket.once('connect', () => { connected = true })
    })
    upstream.setTimeout(UPSTREAM_TIMEOUT_MS, () => {
      upstream.destroy()
      if (!res.headersSent) sendError(res, 504, 'unavailable', 'the server behind this page did not answer in time')
    })
    upstream.on('error', () => {
      if (res.headersSent || res.writableEnded) { res.destroy(); return }
      // Nothing reached that server (it is down): the next one may answer.
      // Once the request went out, a second attempt could act twice: give up.
      if (!connected) attempt(i + 1)
      else sendError(res, 502, 'unavailable', 'the server behind this page failed to answer')
    })
    upstream.end(body)
  }
  attempt(0)
}

/** Joins a WebSocket upgrade to the first of `bases` (from `start`) that accepts the connection. */
export function forwardUpgrade (req: IncomingMessage, client: Duplex, head: Buffer, bases: string[], rest: string, start = 0): void {
  client.on('error', () => { client.destroy() })
  const attempt = (i: number): void => {
    const base = bases[(start + i) % bases.length]
    if (base === undefined || i >= bases.length) {
      client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    let target: URL
    try {
      target = upstreamUrl(base, rest)
    } catch {
      client.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    const port = Number(target.port !== '' ? target.port : target.protocol === 'https:' ? 443 : 80)
    const upstream = target.protocol === 'https:'
      ? tlsConnect({ host: target.hostname, port, servername: target.hostname })
      : netConnect({ host: target.hostname, port })
    const onFail = (): void => { attempt(i + 1) }
    upstream.once('error', onFail)
    upstream.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      upstream.off('error', onFail)
      upstream.on('error', () => { client.destroy() })
      const headers = forwardedHeaders(req, target)
      const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `host: ${target.host}`, 'connection: Upgrade', 'upgrade: websocket']
      for (const [name, value] of Object.entries(headers)) {
        if (name === 'host') continue
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`)
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
      upstream.on('close', () => { client.destroy() })
      client.on('close', () => { upstream.destroy() })
    })
  }
  attempt(0)
}
