import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import { CloseCode, type ErrorCode, type Ref, type ServerFrame } from '@metadome/contracts'
import { Delivery, type DeliverySink } from './delivery.js'

export interface ConnectionOptions {
  maxBufferedBytes: number
  /** Told each close the gateway initiates, with its code (metrics). */
  onClose?: (code: number) => void
}

/** The token a socket lives on. */
export interface Identity {
  userId: string
  /** The session of the token (`sid`). */
  sessionId: string
  /** Seconds since the epoch (`iat`); 0 when it had none. */
  issuedAt: number
  /** Seconds since the epoch (`exp`): past it plus a grace, the socket is closed unless renewed. */
  expiresAt: number
}

/** A connection whose token was verified: it has a user. */
export type AuthenticatedConnection = Connection & { readonly identity: Identity, readonly userId: string }

/**
 * One WebSocket and what the gateway knows about it: whose it is (once
 * authenticated), whether it is alive, and what it was given (Delivery).
 * It is its Delivery's sink itself: an object of closures per socket was
 * memory every idle socket paid for.
 */
export class Connection implements DeliverySink {
  readonly id = randomUUID()
  /** What this socket was given, and the no-gap invariant of its catch-ups. */
  readonly delivery: Delivery

  readonly #socket: WebSocket
  readonly #log: FastifyBaseLogger
  readonly #limits: ConnectionOptions
  #identity: Identity | undefined
  #closed = false
  /** Answered the last WebSocket ping. */
  #alive = true
  #corked = false

  constructor (socket: WebSocket, log: FastifyBaseLogger, limits: ConnectionOptions) {
    this.#socket = socket
    this.#log = log
    this.#limits = limits
    socket.on('pong', () => { this.#alive = true })
    socket.on('close', () => { this.#closed = true })
    this.delivery = new Delivery(this)
  }

  get maxBufferedBytes (): number {
    return this.#limits.maxBufferedBytes
  }

  /** DeliverySink: as sendText. */
  write (text: string): void {
    this.sendText(text)
  }

  isClosed (): boolean {
    return this.#closed
  }

  bufferedAmount (): number {
    return this.#socket.bufferedAmount
  }

  onError (err: unknown): void {
    this.#log.error({ err, connectionId: this.id }, 'catch-up failed')
  }

  get identity (): Identity | undefined {
    return this.#identity
  }

  get userId (): string | undefined {
    return this.#identity?.userId
  }

  get closed (): boolean {
    return this.#closed
  }

  isAuthenticated (): this is AuthenticatedConnection {
    return this.#identity !== undefined
  }

  /** The socket now lives on this (verified) token. */
  adopt (identity: Identity): void {
    this.#identity = { userId: identity.userId, sessionId: identity.sessionId, issuedAt: identity.issuedAt, expiresAt: identity.expiresAt }
  }

  send (frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame))
  }

  sendError (code: ErrorCode, message: string, ref?: Ref): void {
    this.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  }

  /** Writes a serialized frame; a peer that lets its buffer pass the limit is closed with 4008. */
  sendText (text: string): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return
    this.#cork()
    this.#socket.send(text)
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.close(CloseCode.tooSlow, 'too slow to keep up')
    }
  }

  /**
   * Frames written in one tick leave in one write: ws corks and uncorks the
   * TCP socket around each frame (one syscall each); an outer cork until the
   * next tick coalesces them (uncork nests), at no cost in latency. With ten
   * frames per socket per tick, a third of the CPU per frame. Corked bytes
   * count in bufferedAmount, so the 4008 limit holds.
   */
  #cork (): void {
    if (this.#corked) return
    // ws keeps its net.Socket as `_socket`; not in its types.
    const raw = (this.#socket as unknown as { _socket?: Duplex | null })._socket
    if (raw === undefined || raw === null) return
    this.#corked = true
    raw.cork()
    process.nextTick(() => {
      this.#corked = false
      raw.uncork()
    })
  }

  close (code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.delivery.discard()
    this.#log.debug({ connectionId: this.id, userId: this.userId, code, reason }, 'closing socket')
    this.#limits.onClose?.(code)
    try {
      this.#socket.close(code, reason)
    } catch {
      this.#socket.terminate()
    }
  }

  /** A WebSocket ping; a peer that did not answer the previous one is cut off. */
  ping (): void {
    if (!this.#alive) {
      this.#closed = true
      this.#socket.terminate()
      return
    }
    this.#alive = false
    this.#socket.ping()
  }
}
