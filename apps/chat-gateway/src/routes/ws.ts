import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import { CloseCode } from '@metadome/contracts'
import type { GatewayConfig } from '../config.js'
import { runSession, type SessionDeps } from '../ws/session.js'

/** `GET /v1/ws`: the WebSocket contract (DESIGN.md). */
export async function wsRoutes (app: FastifyInstance, opts: { config: GatewayConfig }): Promise<void> {
  const { config } = opts
  const limits = {
    authTimeoutMs: config.WS_AUTH_TIMEOUT_MS,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    ratePerSecond: config.WS_RATE_PER_SECOND,
    rateBurst: config.WS_RATE_BURST,
    maxBadFrames: config.WS_MAX_BAD_FRAMES,
    bytesPerSecond: config.WS_BYTES_PER_SECOND,
    readsPerSecond: config.WS_READS_PER_SECOND,
    typingIntervalMs: config.WS_TYPING_INTERVAL_MS,
    maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES
  }
  // ws closes with 1009 itself on an oversized frame and reports it here;
  // one listener for every socket, holding nothing of any.
  function onSocketError (this: WebSocket, err: Error): void {
    app.log.debug({ err }, 'websocket error')
    if (this.readyState === this.OPEN) this.close(CloseCode.tooLarge, 'frame too large')
  }
  let sessionDeps: SessionDeps | undefined
  app.route({
    method: 'GET',
    url: '/v1/ws',
    // helmet's headers go on an HTTP answer, and ws writes the 101 itself
    // from its own list: for an upgrade they were made and thrown away, at
    // 4 % of the gateway's CPU in a connect storm. The plain GET's answer
    // below sets them itself.
    helmet: false,
    // A plain GET (no upgrade): the contract's error, not an empty 404.
    handler: async (_request, reply) => {
      await reply.helmet()
      return await reply.code(426).header('upgrade', 'websocket').send({ error: { code: 'bad_request', message: 'this is the WebSocket endpoint: connect with an Upgrade: websocket request' } })
    },
    // The upgrade's HTTP objects must not live as long as the socket (they
    // were most of its memory): @fastify/websocket assigns the net socket a
    // ServerResponse it never writes (ws answers the upgrade on the socket
    // itself), so it is detached here, right before the handler upgrades.
    preHandler: (request, reply, done) => {
      if (request.ws) reply.raw.detachSocket(request.raw.socket)
      done()
    },
    wsHandler: (socket, request) => {
    // ...and its error listener keeps the request and reply: ours keeps nothing.
    for (const listener of socket.listeners('error')) socket.off('error', listener as (err: Error) => void)
    socket.on('error', onSocketError)
    if (app.chat.closing) {
      socket.close(CloseCode.restarting, 'gateway restarting')
      return
    }
    // One object for every socket: each socket's session keeps it.
    sessionDeps ??= {
      limits,
      connection: { maxBufferedBytes: limits.maxBufferedBytes, onClose: app.chat.countClose },
      verifier: app.chat.verifier,
      revocations: app.chat.revocations,
      hub: app.chat.hub,
      chat: app.chat.service,
      // Not request.log: a child logger per socket costs memory for as long as the socket lives.
      log: app.log,
      registry: app.chat.registry,
      userBytes: app.chat.userBytes
    }
    runSession(socket, request.headers.authorization, sessionDeps)
    }
  })
}
