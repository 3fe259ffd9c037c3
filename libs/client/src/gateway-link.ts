import { CloseCode, type ClientFrame, type ServerFrame } from '@metadome/contracts'
import { ChatClientError, isChatClientError } from './errors.js'
import { defaultWebSocket, OPEN, type SocketLike, type WebSocketConstructor } from './websocket.js'

// One WebSocket at a time to the chat gateways (DESIGN.md "WebSocket
// contract"), and what it takes to keep one: a socket is dialed with a fresh
// access token, authenticated by the first frame (as browsers must), and is
// ready at `ready`; a closed one is redialed with full-jitter backoff, to the
// next gateway each time; a silent one is given up (heartbeat), and so is one
// that is not ready in time. Until its owner has synced once, a round of
// gateways that all failed is `unreachable`; after that it never gives up.
//
// Requests carry a ref and wait for the reply with that ref; what has no
// answer yet is sent again on the next ready socket (a send keeps its id, so
// the stream keeps one copy) until the request times out. Every other frame
// goes to the owner, who also decides what a ready socket does first (sync).

/** Where the link gets its tokens (a TokenKeeper). */
export interface TokenSource {
  accessToken: () => Promise<string>
  /** The gateway refused the token: refresh before the next socket. */
  expire: () => void
}

export interface GatewayLinkOptions {
  /** Socket URLs, tried in turn from a random one. */
  urls: [string, ...string[]]
  tokens: TokenSource
  WebSocket?: WebSocketConstructor
  reconnect?: { minDelayMs?: number, maxDelayMs?: number }
  heartbeatMs?: number
  requestTimeoutMs?: number
  /** A socket is ready; requests still unanswered are sent again right after. */
  onReady: (url: string) => void
  /** Every frame but `ready` and the replies to requests. */
  onFrame: (frame: ServerFrame) => void
  onDisconnected: (event: { url: string, code: number, reason: string }) => void
}

/** The replies a request can wait for. */
export type ReplyType = 'ack' | 'authed' | 'history' | 'conversations' | 'pong'
export type FrameOf<K extends ServerFrame['type']> = Extract<ServerFrame, { type: K }>

interface Pending {
  frame: ClientFrame
  /** Resolves or rejects the request with its reply. */
  settle: (reply: ServerFrame) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

export class GatewayLink {
  readonly #o: GatewayLinkOptions
  #WebSocket: WebSocketConstructor | undefined
  #socket: SocketLike | undefined
  #socketUrl = ''
  #ready = false
  #closed = false
  /** The owner synced once: from then on the link never gives up. */
  #up = false
  #connecting: { resolve: () => void, reject: (err: Error) => void } | undefined
  #urlIndex: number
  #attempt = 0
  #failuresInRow = 0
  #redialTimer: ReturnType<typeof setTimeout> | undefined
  #readyTimer: ReturnType<typeof setTimeout> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #lastHeardAt = 0
  readonly #pending = new Map<string, Pending>()

  constructor (options: GatewayLinkOptions) {
    this.#o = options
    // Spread clients over the gateways from the start.
    this.#urlIndex = Math.floor(Math.random() * options.urls.length)
  }

  /** A socket is connected, authenticated and ready. */
  get ready (): boolean {
    return this.#ready
  }

  /** The gateway of the current (or last) socket. */
  get socketUrl (): string {
    return this.#socketUrl
  }

  /** The gateway the link is on or dials next. */
  get url (): string {
    return this.#o.urls[this.#urlIndex % this.#o.urls.length] ?? this.#o.urls[0]
  }

  /** Dials and resolves once the owner calls up(); rejects `unreachable` if no gateway answers. */
  async connect (): Promise<void> {
    if (this.#up) return
    this.#WebSocket ??= this.#o.WebSocket ?? await defaultWebSocket()
    const first = new Promise<void>((resolve, reject) => { this.#connecting = { resolve, reject } })
    this.#dial()
    await first
  }

  /** The owner is in step with the gateway (its first sync is done): connect() resolves. */
  up (): void {
    this.#up = true
    this.#connecting?.resolve()
    this.#connecting = undefined
  }

  /** Sends a frame on the ready socket; without one it is dropped. */
  send (frame: ClientFrame): void {
    const ws = this.#socket
    if (ws === undefined || !this.#ready || ws.readyState !== OPEN) return
    ws.send(JSON.stringify(frame))
  }

  /** Sends a request and waits for its answer (by ref), sent again after a reconnect until `requestTimeoutMs`. */
  async request<K extends ReplyType> (frame: ClientFrame & { ref: string }, expect: K): Promise<FrameOf<K>> {
    if (this.#closed) throw new ChatClientError('closed', 'the client is closed')
    return await new Promise<FrameOf<K>>((resolve, reject) => {
      const timeout = this.#o.requestTimeoutMs ?? 30_000
      const timer = setTimeout(() => {
        this.#pending.delete(frame.ref)
        reject(new ChatClientError('timeout', `no answer to ${frame.type} in ${timeout} ms`))
      }, timeout)
      const settle = (reply: ServerFrame): void => {
        if (reply.type === 'error') reject(new ChatClientError(reply.code, reply.message))
        else if (isFrameOf(reply, expect)) resolve(reply)
        else reject(new ChatClientError('server_error', `expected ${expect}, got ${reply.type}`))
      }
      this.#pending.set(frame.ref, { frame, settle, reject, timer })
      this.send(frame)
    })
  }

  /**
   * A connected socket lives on the token it was dialed with, and the gateway
   * closes it (4401) soon after that token expires: hand it the new one.
   * A refused renewal needs nothing here: the close that follows redials
   * with a fresh token.
   */
  renew (accessToken: string): void {
    this.send({ type: 'auth', token: accessToken, ref: 'renew' })
  }

  /** Closes the current socket normally, to go to another gateway. */
  hangUp (reason: string): void {
    this.#socket?.close(1000, reason)
  }

  /** Stops for good: what waits is rejected with `reason`, the socket is closed (given a second for its handshake). */
  async close (reason: Error): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#redialTimer)
    clearInterval(this.#heartbeat)
    clearTimeout(this.#readyTimer)
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer)
      p.reject(reason)
    }
    this.#pending.clear()
    this.#connecting?.reject(reason)
    this.#connecting = undefined
    const ws = this.#socket
    this.#socket = undefined
    this.#ready = false
    if (ws === undefined) return
    await new Promise<void>((resolve) => {
      // The closing handshake needs the server; one that vanished gets a second.
      const timer = setTimeout(resolve, 1_000)
      ws.onclose = () => {
        clearTimeout(timer)
        resolve()
      }
      ws.close(1000, 'bye')
    })
  }

  #dial (): void {
    this.#redialTimer = undefined
    if (this.#closed) return
    const url = this.url
    this.#o.tokens.accessToken().then((token) => {
      // connect() has the constructor before it first dials.
      const WS = this.#WebSocket
      if (this.#closed || WS === undefined) return
      let ws: SocketLike
      try {
        ws = new WS(url)
      } catch (err) {
        this.#connecting?.reject(new ChatClientError('bad_request', `bad gateway URL ${url}`, { cause: err }))
        this.#connecting = undefined
        return
      }
      this.#socket = ws
      this.#socketUrl = url
      ws.onopen = () => { ws.send(JSON.stringify({ type: 'auth', token })) }
      ws.onmessage = (event) => {
        this.#lastHeardAt = Date.now()
        this.#onSocketData(ws, event.data)
      }
      ws.onerror = () => { /* onclose follows and decides */ }
      ws.onclose = (event) => { this.#onSocketClose(ws, event.code, event.reason) }
      // A gateway address that swallows packets never answers nor closes.
      clearTimeout(this.#readyTimer)
      this.#readyTimer = setTimeout(() => { if (ws === this.#socket && !this.#ready) this.#abandon(ws, 'no ready in time') }, 2 * this.#heartbeatMs)
    }).catch((err: unknown) => {
      if (isChatClientError(err, 'session_ended')) return
      // No token (auth-api unreachable): as good as a gateway that did not answer.
      this.#failuresInRow++
      this.#redial(1006)
    })
  }

  get #heartbeatMs (): number {
    return this.#o.heartbeatMs ?? 15_000
  }

  #onSocketData (ws: SocketLike, data: unknown): void {
    if (ws !== this.#socket || typeof data !== 'string') return
    let frame: ServerFrame
    try {
      // The gateway's frames are taken at its word, but for messages, which the inbox checks.
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return
    }
    switch (frame.type) {
      case 'ready':
        this.#onReady(ws)
        return
      case 'ack':
      case 'authed':
      case 'history':
      case 'conversations':
      case 'pong':
        this.#settle(frame.ref, frame)
        return
      case 'error':
        if (this.#settle(frame.ref, frame)) return
    }
    this.#o.onFrame(frame)
  }

  #onReady (ws: SocketLike): void {
    clearTimeout(this.#readyTimer)
    this.#ready = true
    this.#startHeartbeat(ws)
    this.#attempt = 0
    this.#failuresInRow = 0
    this.#o.onReady(this.#socketUrl)
    for (const p of this.#pending.values()) this.send(p.frame)
  }

  #settle (ref: unknown, reply: ServerFrame): boolean {
    if (typeof ref !== 'string') return false
    const p = this.#pending.get(ref)
    if (p === undefined) return false
    this.#pending.delete(ref)
    clearTimeout(p.timer)
    p.settle(reply)
    return true
  }

  /**
   * A connection that died without a close (a laptop's sleep, a NAT that
   * forgot it) is noticed only by silence: ping when quiet, and give up on a
   * socket that stays silent (the gateway pongs every ping).
   */
  #startHeartbeat (ws: SocketLike): void {
    clearInterval(this.#heartbeat)
    this.#lastHeardAt = Date.now()
    const every = this.#heartbeatMs
    this.#heartbeat = setInterval(() => {
      if (ws !== this.#socket) return
      const quiet = Date.now() - this.#lastHeardAt
      if (quiet > 2 * every) {
        this.#abandon(ws, 'no answer to pings')
      } else if (quiet >= every) {
        this.send({ type: 'ping' })
      }
    }, every)
  }

  /** Lets go of a socket at once: its closing handshake would wait for a peer that is gone. */
  #abandon (ws: SocketLike, reason: string): void {
    ws.onclose = null
    ws.onmessage = null
    try {
      ws.close(4000, reason)
    } catch {
      // already closing
    }
    this.#onSocketClose(ws, 1006, reason)
  }

  #onSocketClose (ws: SocketLike, code: number, reason: string): void {
    if (ws !== this.#socket) return
    clearInterval(this.#heartbeat)
    clearTimeout(this.#readyTimer)
    this.#socket = undefined
    const wasReady = this.#ready
    this.#ready = false
    this.#o.onDisconnected({ url: this.#socketUrl, code, reason })
    if (this.#closed) return
    // 4401 (token refused) and 4403 (the user's sessions were revoked, maybe
    // only another device's): a refresh tells whether this session lives on.
    // If it does, the new token is newer than the revocation; if not, the
    // refresh ends the client with session_ended.
    if (code === CloseCode.unauthorized || code === CloseCode.forbidden) this.#o.tokens.expire()
    if (!wasReady) this.#failuresInRow++
    this.#redial(code)
  }

  #redial (code: number): void {
    if (this.#closed || this.#redialTimer !== undefined) return
    this.#urlIndex = (this.#urlIndex + 1) % this.#o.urls.length
    if (!this.#up && this.#failuresInRow >= this.#o.urls.length) {
      this.#connecting?.reject(new ChatClientError('unreachable', `cannot reach a chat gateway (${this.#o.urls.join(', ')})`))
      this.#connecting = undefined
      return
    }
    const min = this.#o.reconnect?.minDelayMs ?? 200
    const max = this.#o.reconnect?.maxDelayMs ?? 10_000
    // A gateway that is restarting (1012) asks to go elsewhere at once.
    const delay = code === CloseCode.restarting && this.#attempt === 0
      ? 0
      : Math.random() * Math.min(max, min * 2 ** this.#attempt)
    this.#attempt = Math.min(this.#attempt + 1, 30)
    this.#redialTimer = setTimeout(() => { this.#dial() }, delay)
  }
}

function isFrameOf<K extends ServerFrame['type']> (frame: ServerFrame, type: K): frame is FrameOf<K> {
  return frame.type === type
}
