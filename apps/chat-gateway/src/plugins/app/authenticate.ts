import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Unauthorized, Unavailable } from '@metadome/service'
import { InvalidTokenError } from '../../auth/token-verifier.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by app.authenticate. */
    userId: string
  }
  interface FastifyInstance {
    /** A preHandler: a valid access token in `Authorization: Bearer`, or 401. */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
}

/** REST routes take the same tokens as sockets, checked against the same JWKS and revocations. */
export const authenticatePlugin = fp(async function authenticatePlugin (app: FastifyInstance) {
  app.decorateRequest('userId', '')
  app.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
    if (bearer === null) throw new Unauthorized('an access token is required')
    try {
      const token = await app.chat.verifier.verify(bearer[1] as string)
      if (app.chat.revocations.refuses(token.userId, token.sessionId, token.issuedAt)) throw new InvalidTokenError('revoked')
      request.userId = token.userId
    } catch (err) {
      if (err instanceof InvalidTokenError) throw new Unauthorized('bad or expired token')
      request.log.warn({ err }, 'cannot verify tokens now')
      throw new Unavailable('cannot verify tokens now')
    }
  })
}, { name: 'metadome-authenticate', dependencies: ['metadome-chat'] })
