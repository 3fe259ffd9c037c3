// The socket the SDK needs: the WHATWG WebSocket's event-handler properties,
// which browsers and the `ws` package (Node 20 has no global WebSocket) both
// implement. Text frames arrive as strings in both.

export interface SocketLike {
  readonly readyState: number
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number, reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
  send: (data: string) => void
  close: (code?: number, reason?: string) => void
}

export type WebSocketConstructor = new (url: string) => SocketLike

export const OPEN = 1

/** globalThis.WebSocket when there is one (browsers, Node 22+), else `ws`, loaded only then. */
export async function defaultWebSocket (): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (global !== undefined) return global
  const ws = await import('ws')
  // ws implements the same handler properties, but types their events with
  // its own classes (and overloads the constructor), so the structural match
  // with SocketLike has to be asserted.
  return ws.WebSocket as unknown as WebSocketConstructor
}
