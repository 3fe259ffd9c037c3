import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { handlers, type GroupLimits } from '../../rpc/handlers.js'
import { RpcService } from '../../rpc/service.js'
import { AuthorizedChanges } from '../../rpc/authorized-changes.js'

const DEFAULT_MAX_PAYLOAD = 1024 * 1024
/** Room in a reply for the envelope and the non-item fields. */
const REPLY_MARGIN = 16 * 1024

/**
 * The request/reply service for gateways. Registered last, so its onClose
 * runs first: it leaves the queue group and answers what it already received
 * while the database and NATS are still open.
 */
export const rpcPlugin = fp(async function rpcPlugin (app: FastifyInstance, opts: { groupMaxMembers: number, groupLimits: GroupLimits }) {
  const { nc, ns } = app.nats
  const service = new RpcService({
    nc,
    ns,
    handlers: handlers({
      db: app.chatDb,
      storedThrough: app.writerStreams.storedThrough,
      groupMaxMembers: opts.groupMaxMembers,
      groupLimits: opts.groupLimits,
      authorized: new AuthorizedChanges(),
      maxItemBytes: () => (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - REPLY_MARGIN
    }),
    metrics: app.writerMetrics,
    log: app.log.child({ component: 'rpc' })
  })
  app.addHook('onReady', async () => { service.start() })
  app.addHook('onClose', async () => { await service.close() })
}, { name: 'writer-rpc', dependencies: ['metadome-db', 'metadome-nats', 'writer-streams', 'writer-metrics'] })
