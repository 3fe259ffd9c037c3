import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Jwks } from '@metadome/contracts'

export const wellKnownRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const keys = [app.tokens.keys.current.jwk, ...(app.tokens.keys.next !== undefined ? [app.tokens.keys.next.jwk] : [])]
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['keys'],
      summary: 'The public keys that verify access tokens',
      response: { 200: Jwks }
    }
  }, async (_request, reply) => {
    // Verifiers may cache it a while; a rotation publishes the next key well before it signs.
    void reply.header('cache-control', 'public, max-age=300')
    return { keys }
  })
}

