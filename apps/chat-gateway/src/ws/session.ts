import type { WebSocket, RawData } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import { CloseCode, ErrorCode, type ClientFrame, type Ref, type ServerFrame } from '@metadome/contracts'
import { errorCodeOf, Unavailable } from '@metadome/service'
import { InvalidTokenError, type TokenVerifier, type VerifiedToken } from '../auth/token-verifier.js'
import type { Revocations } from '../chat/user-events.js'
import { TooManySockets, type Hub } from '../chat/hub.js'
import type { ChatService } from '../chat/chat-service.js'
import { Connection, type ConnectionOptions } from './connection.js'
import { RateLimiter, byteBurst } from './rate-limiter.js'
import type { UserBudgets } from './user-budgets.js'
import { readFrame } from './frame-reader.js'

export interface SessionLimits {
  authTimeoutMs: number
  maxBufferedBytes: number
  ratePerSecond: number
  rateBurst: number
  maxBadFrames: number
  /** Bytes a socket may send per second, sustained (bursts up to two of its largest frames). */
  bytesPerSecond: number
  /** `sync`, `history` and `conversations` a socket may ask for per second (twice as many in a burst). */
  readsPerSecond: number
  /** One typing frame per conversation per this long is relayed; the rest are dropped. */
  typingIntervalMs: number
  maxPayloadBytes: number
}

/** Conversations whose last typing frame a socket remembers. */
const TYPING_REMEMBERED = 64

export interface SessionDeps {
  limits: SessionLimits
  /** What every Connection is made with (its buffer limit, its close counter). */
  connection: ConnectionOptions
  verifier: TokenVerifier
  revocations: Revocations
  hub: Hub
  chat: ChatService
  log: FastifyBaseLogger
  /** Every open socket, authenticated or not (pings, shutdown). */
  registry: Set<Connection>
  /** Bytes per second of each user over all their sockets here. */
  userBytes: UserBudgets
}

/** Frames a socket may send while its authentication is under way; they run once it is ready. */
const MAX_EARLY_FRAMES = 64

function frameBytes (data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0)
  return data.byteLength
}

function withRef<F extends ServerFrame> (frame: F, ref: Ref | undefined): F {
  return ref === undefined ? frame : { ...frame, ref }
}

/**
 * Runs one WebSocket from upgrade to close. The message listener is attached
 * before anything is awaited (frames sent right after the upgrade are not
 * lost); frames that arrive while the token is checked wait in order.
 */
export function runSession (socket: WebSocket, authorization: string | undefined, deps: SessionDeps): Connection {
  const { limits, hub, chat, log } = deps
  const conn = new Connection(socket, log, deps.connection)
  const limiter = new RateLimiter(limits.ratePerSecond, limits.rateBurst)
  const bytes = new RateLimiter(limits.bytesPerSecond, byteBurst(limits.bytesPerSecond, limits.maxPayloadBytes))
  // What makes the writer or the stream work: a socket cannot turn the
  // gateway's frame rate into that many database queries.
  const reads = new RateLimiter(limits.readsPerSecond, 2 * limits.readsPerSecond)
  // Made when first needed, as the timer is dropped once done with: an idle
  // socket's memory is what a gateway's capacity is counted in.
  let lastTyping: Map<string, number> | undefined
  let state: 'auth' | 'authenticating' | 'ready' = 'auth'
  let early: ClientFrame[] | undefined
  let badInARow = 0

  deps.registry.add(conn)
  socket.on('message', onMessage)
  socket.on('close', () => {
    clearTimeout(timer)
    timer = undefined
    deps.registry.delete(conn)
    if (conn.isAuthenticated()) hub.detach(conn)
  })
  let timer: NodeJS.Timeout | undefined = setTimeout(() => {
    timer = undefined
    if (state === 'auth') conn.close(CloseCode.authTimeout, 'no auth frame in time')
  }, limits.authTimeoutMs)

  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
  if (bearer !== null) void authenticate(bearer[1] as string, undefined)

  async function verify (token: string): Promise<VerifiedToken> {
    const verified = await deps.verifier.verify(token)
    if (deps.revocations.refuses(verified.userId, verified.sessionId, verified.issuedAt)) {
      throw new InvalidTokenError('the user was deleted or the session ended')
    }
    return verified
  }

  /**
   * An `auth` frame on a ready socket: a fresh token of the same user, so the
   * socket outlives its first token (it is closed with 4401 once the token it
   * lives on expires, after a grace). A bad token leaves the socket on the
   * one it had.
   */
  async function renew (token: string, ref: Ref | undefined): Promise<void> {
    let verified: VerifiedToken
    try {
      verified = await verify(token)
    } catch (err) {
      if (err instanceof InvalidTokenError) conn.sendError('unauthorized', 'bad or expired token', ref)
      else conn.sendError('unavailable', 'cannot verify tokens now, try again', ref)
      return
    }
    if (verified.userId !== conn.userId) {
      conn.sendError('forbidden', 'the token is of another user', ref)
      return
    }
    conn.adopt(verified)
    conn.send(withRef({ type: 'authed', expiresAt: new Date(verified.expiresAt * 1000).toISOString() }, ref))
  }

  function onMessage (data: RawData, isBinary: boolean): void {
    if (conn.closed) return
    const n = frameBytes(data)
    if (!limiter.take() || !bytes.take(n) || (conn.isAuthenticated() && !deps.userBytes.of(conn.userId).take(n))) {
      conn.sendError('rate_limited', 'too many frames or bytes')
      conn.close(CloseCode.rateLimited, 'rate limited')
      return
    }
    const read = readFrame(data, isBinary)
    if (!read.ok) {
      if (++badInARow >= limits.maxBadFrames) {
        conn.sendError('rate_limited', 'too many invalid frames')
        conn.close(CloseCode.rateLimited, 'too many invalid frames')
        return
      }
      conn.sendError(read.code, read.message, read.ref)
      return
    }
    badInARow = 0
    const frame = read.frame
    switch (state) {
      case 'auth':
        if (frame.type === 'auth') void authenticate(frame.token, frame.ref)
        else conn.sendError('unauthorized', 'authenticate first', frame.ref)
        return
      case 'authenticating':
        early ??= []
        if (early.length >= MAX_EARLY_FRAMES) {
          conn.sendError('rate_limited', 'too many frames before ready')
          conn.close(CloseCode.rateLimited, 'rate limited')
        } else {
          early.push(frame)
        }
        return
      case 'ready':
        void dispatch(frame)
    }
  }

  async function authenticate (token: string, ref: Ref | undefined): Promise<void> {
    state = 'authenticating'
    let userId: string
    try {
      const verified = await verify(token)
      userId = verified.userId
      conn.adopt(verified)
    } catch (err) {
      if (err instanceof InvalidTokenError) {
        log.info({ connectionId: conn.id, reason: err.message }, 'socket refused: bad token')
        conn.close(CloseCode.unauthorized, 'bad or expired token')
      } else {
        log.warn({ err, connectionId: conn.id }, 'cannot verify tokens now')
        conn.sendError('unavailable', 'cannot verify tokens now, try again', ref)
        conn.close(CloseCode.tryAgainLater, 'try again later')
      }
      return
    }
    clearTimeout(timer)
    timer = undefined
    if (conn.closed || !conn.isAuthenticated()) return
    try {
      await hub.attach(conn, () => {
        state = 'ready'
        conn.send(withRef({ type: 'ready', userId, connectionId: conn.id }, ref))
        const frames = early ?? []
        early = undefined
        for (const frame of frames) void dispatch(frame)
      })
    } catch (err) {
      if (err instanceof TooManySockets) {
        log.info({ connectionId: conn.id, userId }, 'socket refused: too many sockets for this user')
        conn.sendError('rate_limited', err.message, ref)
        conn.close(CloseCode.tooManySockets, 'too many sockets')
        return
      }
      // Unavailable is expected (the writer down and too much to read from the stream instead).
      if (err instanceof Unavailable) log.warn({ err, connectionId: conn.id }, 'cannot set up a socket now')
      else log.error({ err, connectionId: conn.id }, 'cannot set up a socket')
      conn.sendError('unavailable', 'the gateway cannot serve this socket now, try again', ref)
      conn.close(CloseCode.tryAgainLater, 'try again later')
    }
  }

  async function dispatch (frame: ClientFrame): Promise<void> {
    // Frames are dispatched only once the socket is ready, so it has a user.
    if (!conn.isAuthenticated()) return
    const userId = conn.userId
    const ref = frame.ref
    try {
      switch (frame.type) {
        case 'auth':
          await renew(frame.token, ref)
          return
        case 'ping':
          conn.send(withRef({ type: 'pong' }, ref))
          return
        case 'send': {
          const ack = await chat.send(userId, frame, {
            bodyChecked: true,
            beforePublish: (id) => { conn.delivery.markOwn(id) },
            notComing: (id) => { conn.delivery.forgetOwn(id) }
          })
          conn.send(withRef({ type: 'ack', ...ack }, ref))
          return
        }
        case 'sync':
          if (!reads.take()) { conn.sendError('rate_limited', 'too many sync, history or conversations requests: slow down', ref); return }
          await hub.sync(conn, frame.after, ref === undefined ? {} : { ref })
          return
        case 'history': {
          if (!reads.take()) { conn.sendError('rate_limited', 'too many sync, history or conversations requests: slow down', ref); return }
          const page = await chat.history(userId, frame.conversationId, frame.before, frame.limit)
          conn.send(withRef({ type: 'history', conversationId: frame.conversationId, items: page.items, hasMore: page.hasMore }, ref))
          return
        }
        case 'conversations':
          if (!reads.take()) { conn.sendError('rate_limited', 'too many sync, history or conversations requests: slow down', ref); return }
          conn.send(withRef({ type: 'conversations', ...await chat.conversations(userId, { after: frame.after, limit: frame.limit }) }, ref))
          return
        case 'receipt':
          await chat.receipt(userId, frame.conversationId, frame.seq, frame.kind)
          return
        case 'typing': {
          // An indicator needs no more than one a second: the rest would only fan out.
          const now = Date.now()
          lastTyping ??= new Map()
          if (now - (lastTyping.get(frame.conversationId) ?? 0) < limits.typingIntervalMs) return
          if (lastTyping.size >= TYPING_REMEMBERED) lastTyping.clear()
          lastTyping.set(frame.conversationId, now)
          await chat.typing(userId, frame.conversationId)
          return
        }
        case 'group': {
          const { conversation, change } = await chat.group(userId, frame)
          conn.send(withRef({ type: 'conversation', conversation, change }, ref))
        }
      }
    } catch (err) {
      const reportedRef = ref ?? (frame.type === 'send' ? frame.id : undefined)
      const code = errorCodeOf(err, ErrorCode)
      if (code !== 'unavailable') {
        conn.sendError(code, (err as Error).message, reportedRef)
      } else {
        // An Unavailable is expected (NATS or the writer is down, and said so
        // where it was raised); anything else is a fault, logged here.
        if (!(err instanceof Unavailable)) log.error({ err, connectionId: conn.id, frame: frame.type }, 'frame failed')
        conn.sendError('unavailable', 'the gateway cannot do that now, try again', reportedRef)
      }
    }
  }

  return conn
}
