import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { NatsConnection } from '@nats-io/transport-node'
import { connectNats, inboxPrefix, type NatsAuth } from './connect.js'
import { namespace, type Namespace } from './namespace.js'

declare module 'fastify' {
  interface FastifyInstance {
    nats: {
      nc: NatsConnection
      ns: Namespace
      /** NATS_STREAM_REPLICAS: what every stream and durable consumer this app creates is given. */
      replicas: number
      /** The prefix of this app's reply subjects (inboxPrefix): an inbox made by hand starts with it too. */
      inbox: string
    }
  }
}

export interface NatsPluginOptions {
  url: string
  namespace: string
  /** Connection name shown by the server. */
  name: string
  /** See NatsConfig.noAsyncTraces. */
  noAsyncTraces?: boolean
  /** NATS_STREAM_REPLICAS (default 1). */
  replicas?: number
  auth?: NatsAuth
}

/** Connects at start and drains at close, after every other onClose hook ran. */
export const natsPlugin = fp(async function natsPlugin (app: FastifyInstance, opts: NatsPluginOptions) {
  const nc = await connectNats({ url: opts.url, name: opts.name, logger: app.log.child({ component: 'nats' }), noAsyncTraces: opts.noAsyncTraces ?? false, auth: opts.auth })
  app.decorate('nats', { nc, ns: namespace(opts.namespace), replicas: opts.replicas ?? 1, inbox: inboxPrefix(opts.name) })
  app.addHook('onClose', async () => {
    if (nc.isClosed()) return
    // Drain delivers what is buffered; if the server is already gone it
    // cannot, and closing is all that is left to do.
    await nc.drain().catch(async () => { await nc.close() })
  })
}, { name: 'metadome-nats' })
