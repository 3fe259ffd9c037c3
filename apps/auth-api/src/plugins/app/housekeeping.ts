import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { pruneSessions } from '../../db/session.repository.js'
import { pruneAttempts } from '../../db/login-attempt.repository.js'
import { pruneAccountTokens } from '../../db/account-token.repository.js'
import { pruneChallenges } from '../../db/passkey.repository.js'

export interface HousekeepingOptions {
  everyMs?: number
  keepSessionsDays?: number
}

/**
 * Deletes expired refresh tokens, long-ended sessions, stale login counts
 * and expired one-time tokens and WebAuthn challenges, once at start and then every hour. Every replica may do it: the
 * deletes are idempotent and cheap.
 */
export const housekeepingPlugin = fp(async function housekeepingPlugin (app: FastifyInstance, opts: HousekeepingOptions) {
  const sweep = async (): Promise<void> => {
    try {
      await pruneSessions(app.authDb, opts.keepSessionsDays ?? 30)
      await pruneAttempts(app.authDb)
      await pruneAccountTokens(app.authDb)
      await pruneChallenges(app.authDb)
    } catch (err) {
      app.log.warn({ err }, 'housekeeping failed; will try again')
    }
  }
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  app.addHook('onReady', async () => {
    running = sweep()
    timer = setInterval(() => { running = sweep() }, opts.everyMs ?? 60 * 60 * 1000)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await running
  })
}, { name: 'auth-housekeeping', dependencies: ['metadome-db'] })
