import WebSocket from 'ws'

// What the load generator needs to talk to each server of the direct-message
// workload, in a form that crosses a process boundary: the kind of server
// (which fixes the frames) and, per socket, a URL, headers and a first frame.
// Every kind is driven through the same `ws` client, Socket.IO included (it
// speaks Engine.IO v4 / Socket.IO v5 text packets by hand), so that the
// client's own cost per message is alike for all three and the figures
// compare the servers, not the client libraries.

export type WireKind = 'relay' | 'gateway' | 'socketio'

/** Where and how one user's socket connects. */
export interface Endpoint {
  url: string
  headers?: Record<string, string>
  /** A frame sent as soon as the socket opens (Socket.IO's namespace connect with its auth). */
  hello?: string
}

export interface PairSpec {
  senderId: string
  receiverId: string
  sender: Endpoint
  receiver: Endpoint
}

interface Wire {
  /** Whether this frame says the socket may now send; absent: the open event does. */
  ready?: (text: string) => boolean
  /** The text frame that sends `body` from one user to another. */
  sendFrame: (to: string, id: string, body: Record<string, unknown>) => string
  /** The body of a delivered message frame, or undefined for any other frame (which it need not parse). */
  delivered: (text: string) => Record<string, unknown> | undefined
  /** What a socket of this kind must answer by itself (Socket.IO's heartbeat). */
  onOpen?: (ws: WebSocket) => void
}

const SIO_MESSAGE = '42["message",'

export const wires: Record<WireKind, Wire> = {
  relay: {
    sendFrame: (to, id, body) => JSON.stringify({ to, id, body }),
    delivered: (text) => (JSON.parse(text) as { body?: Record<string, unknown> }).body
  },
  gateway: {
    ready: (text) => text.includes('"type":"ready"'),
    sendFrame: (to, id, body) => JSON.stringify({ type: 'send', id, to, body }),
    delivered (text) {
      // Acks (one per message sent) need no parsing to be told apart.
      if (!text.startsWith('{"type":"message"')) return undefined
      return (JSON.parse(text) as { message: { body: Record<string, unknown> } }).message.body
    }
  },
  socketio: {
    // "40{...}": the server accepted the connect to the main namespace.
    ready: (text) => text.startsWith('40'),
    // "42": an EVENT packet (Engine.IO message "4" carrying Socket.IO event "2").
    sendFrame: (to, _id, body) => `42${JSON.stringify(['send', to, body])}`,
    delivered: (text) => text.startsWith(SIO_MESSAGE) ? (JSON.parse(text.slice(2)) as [string, Record<string, unknown>])[1] : undefined,
    onOpen (ws) {
      // The server pings ("2") every pingInterval and closes a socket that does not pong ("3").
      ws.on('message', (data: WebSocket.RawData) => {
        if ((data as Buffer).length === 1 && data.toString() === '2') ws.send('3')
      })
    }
  }
}

/** An open socket of `kind`, ready to send (after its ready frame when the kind has one). */
export async function openEndpoint (kind: WireKind, endpoint: Endpoint): Promise<WebSocket> {
  const wire = wires[kind]
  const ws = new WebSocket(endpoint.url, { headers: endpoint.headers ?? {}, perMessageDeflate: false })
  wire.onOpen?.(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject)
    ws.once('close', (code) => reject(new Error(`closed with ${code} before ready`)))
    ws.once('open', () => {
      if (endpoint.hello !== undefined) ws.send(endpoint.hello)
      if (wire.ready === undefined) resolve()
    })
    const ready = wire.ready
    if (ready === undefined) return
    const onMessage = (data: WebSocket.RawData): void => {
      if (ready(data.toString())) {
        ws.off('message', onMessage)
        resolve()
      }
    }
    ws.on('message', onMessage)
  })
  ws.removeAllListeners('close')
  ws.on('error', () => {})
  return ws
}
