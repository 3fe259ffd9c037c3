import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { CloseCode } from '@metadome/contracts'

/**
 * @fastify/websocket with the transport limit (a bigger frame: close 1009,
 * done by ws) and our shutdown: the gateway stops taking sockets, then closes
 * every open one with 1012 so clients reconnect to another gateway.
 */
export const websocketPlugin = fp(async function websocketPlugin (app: FastifyInstance, opts: { maxPayload: number }) {
  await app.register(websocket, {
    options: { maxPayload: opts.maxPayload, clientTracking: false },
    // ws closes with 1009 itself on an oversized frame and reports it here;
    // the default handler would cut the socket before the close frame is out.
    errorHandler (err, socket, request) {
      request.log.debug({ err }, 'websocket error')
      if (socket.readyState === socket.OPEN) socket.close(CloseCode.tooLarge, 'frame too large')
    },
    preClose (done) {
      app.chat.closing = true
      for (const conn of app.chat.registry) conn.close(CloseCode.restarting, 'gateway restarting')
      done()
    }
  })
}, { name: 'metadome-websocket', dependencies: ['metadome-chat'] })
