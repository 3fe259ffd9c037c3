// A gateway is named by its WebSocket URL (ws(s)://…/v1/ws, used as given)
// or by the http(s):// address it is served at (DESIGN.md "Browser client"),
// perhaps under a path prefix behind a proxy. Its REST routes (the group
// operations) sit beside /v1/ws, so both URLs are derived from one address.

const SOCKET_PATH = '/v1/ws'

/**
 * The WebSocket URL of a gateway address: http://host:3001 → ws://host:3001/v1/ws,
 * https://example.com/chat → wss://example.com/chat/v1/ws. A ws(s) URL, or
 * anything that is not an http(s) URL, is returned as it is (a bad one fails
 * when the socket is dialed, as `bad_request`).
 */
export function gatewaySocketUrl (gatewayUrl: string): string {
  let u: URL
  try {
    u = new URL(gatewayUrl)
  } catch {
    return gatewayUrl
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return gatewayUrl
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
  if (!u.pathname.endsWith(SOCKET_PATH)) u.pathname = u.pathname.replace(/\/+$/, '') + SOCKET_PATH
  u.hash = ''
  return u.toString()
}

/** The socket URLs of the `gatewayUrl` option, in the order given; at least one. */
export function gatewaySocketUrls (gatewayUrl: string | string[]): [string, ...string[]] {
  const [first, ...rest] = (Array.isArray(gatewayUrl) ? gatewayUrl : [gatewayUrl]).map(gatewaySocketUrl)
  if (first === undefined) throw new TypeError('gatewayUrl: give at least one gateway')
  return [first, ...rest]
}

/** The base of a gateway's REST routes: wss://example.com/chat/v1/ws → https://example.com/chat */
export function gatewayHttpBase (gatewayUrl: string): string {
  const u = new URL(gatewaySocketUrl(gatewayUrl))
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:'
  u.pathname = u.pathname.endsWith(SOCKET_PATH) ? u.pathname.slice(0, -SOCKET_PATH.length) : ''
  u.search = ''
  return u.toString().replace(/\/$/, '')
}
