import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { ChatWriter } from '../../writer/chat-writer.js'
import { UsersWriter } from '../../writer/users-writer.js'

declare module 'fastify' {
  interface FastifyInstance {
    chatWriter: ChatWriter
  }
}

export interface WritersOptions {
  batchSize: number
  batchWaitMs: number
  batchesInFlight: number
  groupMaxMembers: number
}

/**
 * The two consume loops, CHAT into messages and USERS into the users
 * projection. They start once the app is ready and stop in onClose; Fastify
 * runs onClose hooks in reverse order of registration, so this runs before
 * the NATS plugin drains the connection and before the database closes: the
 * batches in flight commit and their acks go out first.
 */
export const writersPlugin = fp(async function writersPlugin (app: FastifyInstance, opts: WritersOptions) {
  const { chat, users, deadLetter, nextGroupEvent } = app.writerStreams
  const chatWriter = new ChatWriter({
    db: app.chatDb,
    consumer: chat,
    ns: app.nats.ns,
    deadLetter,
    metrics: app.writerMetrics,
    log: app.log.child({ component: 'chat-writer' }),
    batchSize: opts.batchSize,
    batchWaitMs: opts.batchWaitMs,
    batchesInFlight: opts.batchesInFlight,
    groupMaxMembers: opts.groupMaxMembers,
    nextGroupEvent
  })
  const usersWriter = new UsersWriter({
    db: app.chatDb,
    consumer: users,
    ns: app.nats.ns,
    deadLetter,
    metrics: app.writerMetrics,
    log: app.log.child({ component: 'users-writer' }),
    batchSize: 200,
    batchWaitMs: opts.batchWaitMs
  })
  app.decorate('chatWriter', chatWriter)
  app.addHook('onReady', async () => {
    chatWriter.start()
    usersWriter.start()
  })
  app.addHook('onClose', async () => {
    await Promise.all([chatWriter.close(), usersWriter.close()])
    app.log.info('writers stopped; every batch in flight is committed and acked')
  })
}, { name: 'writers', dependencies: ['metadome-db', 'writer-streams', 'writer-metrics'] })
