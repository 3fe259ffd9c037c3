import { env } from '@metadome/config'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { Gauge, Counter } from 'prom-client'
import { ensureStream, RESUMING_API_TIMEOUT_MS } from '@metadome/nats'
import { chatRpc, chatStream, usersStream, CloseCode } from '@metadome/contracts'
import type { GatewayConfig } from '../../config.js'
import { TokenVerifier } from '../../auth/token-verifier.js'
import { Hub } from '../../chat/hub.js'
import { ChatService } from '../../chat/chat-service.js'
import { BlockList } from '../../chat/block-list.js'
import { StreamPublisher } from '../../chat/stream-publisher.js'
import { Revocations, followUserEvents } from '../../chat/user-events.js'
import type { Connection } from '../../ws/connection.js'
import { UserBudgets } from '../../ws/user-budgets.js'
import { byteBurst } from '../../ws/rate-limiter.js'

export interface Chat {
  verifier: TokenVerifier
  revocations: Revocations
  hub: Hub
  service: ChatService
  /** Every open socket, authenticated or not. */
  registry: Set<Connection>
  /** WS_USER_BYTES_PER_SECOND: each user's bytes over all their sockets here. */
  userBytes: UserBudgets
  /** True once the gateway is shutting down: new sockets are closed with 1012. */
  closing: boolean
  /** Counts a close the gateway initiated. */
  countClose: (code: number) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    chat: Chat
  }
}

/**
 * The gateway's chat side, composed: token verification (JWKS), the hub of
 * sockets and their NATS subscriptions, the chat operations, USERS events
 * (deleted users and revoked sessions close their sockets with 4403 on every
 * gateway), WebSocket pings, resuming after a NATS reconnect, and closing
 * every socket with 1012 when the gateway stops.
 */
export const chatPlugin = fp(async function chatPlugin (app: FastifyInstance, opts: { config: GatewayConfig }) {
  const { config } = opts
  const { nc, ns } = app.nats
  // No API check here: during a NATS election it times out, and ensureStream retries what follows.
  const jsm = await jetstreamManager(nc, { checkAPI: false })
  const js = jetstream(nc)
  const chatConfig = chatStream(ns, env.chatStreamLimits(config))
  const stream = chatConfig.name
  // message-writer owns CHAT and auth-api owns USERS: a gateway creates
  // them when missing and never changes them.
  await ensureStream(jsm, chatConfig, app.nats.replicas, { owner: false })
  await ensureStream(jsm, usersStream(ns), app.nats.replicas, { owner: false })

  const log = app.log.child({ component: 'chat' })
  const writer = chatRpc(nc, ns, { timeoutMs: config.WRITER_TIMEOUT_MS })
  const hub = new Hub({ nc, js, jsm, ns, writer, log, stream, maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER, streamReadMax: config.CATCH_UP_STREAM_MAX })
  await nc.flush()
  const publisher = new StreamPublisher(nc, stream, { inbox: app.nats.inbox })
  const blocks = new BlockList({ nc, ns, writer, log })
  blocks.start()
  const service = new ChatService({ publisher, js, jsm, ns, writer, hub, log, stream, blocks })
  const revocations = new Revocations()
  const verifier = new TokenVerifier({
    // AUTH_URL may carry a path prefix (auth-api behind a proxy): keep it.
    jwksUrl: `${config.AUTH_URL.replace(/\/+$/, '')}/.well-known/jwks.json`,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE
  })
  const closes = new Counter({ name: 'chat_gateway_socket_closes_total', help: 'Sockets closed by the gateway, by close code', labelNames: ['code'], registers: [app.metrics] })
  const chat: Chat = {
    verifier,
    revocations,
    hub,
    service,
    registry: new Set(),
    userBytes: new UserBudgets(config.WS_USER_BYTES_PER_SECOND, byteBurst(config.WS_USER_BYTES_PER_SECOND, config.WS_MAX_PAYLOAD_BYTES)),
    closing: false,
    countClose: (code) => { closes.inc({ code: String(code) }) }
  }
  app.decorate('chat', chat)

  new Gauge({ name: 'chat_gateway_sockets', help: 'Open WebSockets', registers: [app.metrics], collect () { this.set(chat.registry.size) } })
  new Gauge({ name: 'chat_gateway_conversation_subscriptions', help: 'Conversations followed on NATS', registers: [app.metrics], collect () { this.set(hub.subscribedConversations) } })

  const stopUserEvents = await followUserEvents({
    // As the writer's consumers (RESUMING_PULL): a follower whose consumer's
    // node died gives up on it after 2 s, not 5, and revocations resume sooner.
    js: jetstream(nc, { timeout: RESUMING_API_TIMEOUT_MS }),
    ns,
    log,
    onEvent (event) {
      const userId = event.user.id
      if (event.type === 'deleted') {
        revocations.delete(userId)
        service.forgetUser(userId)
        hub.closeUser(userId, CloseCode.forbidden, 'user deleted')
      } else if (event.type === 'sessions_revoked') {
        if (event.sessionIds !== undefined) {
          // Those sessions only (a logout, a device signed out): the user's other sessions stay.
          const ended = new Set(event.sessionIds)
          revocations.endSessions(event.sessionIds)
          hub.closeUser(userId, CloseCode.forbidden, 'session ended', (conn) => ended.has(conn.identity.sessionId))
        } else {
          const at = Date.parse(event.occurredAt)
          revocations.revoke(userId, at)
          hub.closeUser(userId, CloseCode.forbidden, 'sessions revoked', (conn) => conn.identity.issuedAt <= Math.floor(at / 1000))
        }
      }
    }
  })

  // A socket lives as long as the token it was opened (or last renewed)
  // with, plus a grace in which the client renews it with an auth frame.
  // The same sweep closes a socket whose token was verified just before its
  // session's end was learned (the event found no socket to close yet).
  const graceSeconds = config.WS_TOKEN_GRACE_MS / 1000
  const expiries = setInterval(() => {
    const now = Date.now() / 1000
    for (const conn of chat.registry) {
      const token = conn.identity
      if (token === undefined) continue
      if (token.expiresAt + graceSeconds < now) conn.close(CloseCode.unauthorized, 'token expired')
      else if (revocations.refuses(token.userId, token.sessionId, token.issuedAt)) conn.close(CloseCode.forbidden, 'session ended')
    }
  }, Math.min(1_000, config.WS_TOKEN_GRACE_MS))
  expiries.unref()

  // A dead peer answers no ping: terminated at the next round.
  const pings = setInterval(() => {
    revocations.prune()
    for (const conn of chat.registry) conn.ping()
  }, config.WS_PING_INTERVAL_MS)
  pings.unref()

  // Core NATS messages sent while disconnected are lost: catch every socket up.
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') hub.resumeAll()
    }
  })()

  app.addHook('onClose', async () => {
    clearInterval(pings)
    clearInterval(expiries)
    chat.userBytes.close()
    hub.close()
    blocks.stop()
    publisher.close()
    await stopUserEvents()
  })
}, { name: 'metadome-chat', dependencies: ['metadome-nats', 'metadome-metrics'] })
