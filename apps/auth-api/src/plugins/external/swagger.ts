import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI document, generated from the routes' TypeBox schemas, at
 * /openapi.json, and a browsable UI at /docs. Registered before the routes so
 * that it sees them all.
 */
export default fp(async function openapi (app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'metadome auth-api',
        description: 'Users, sessions and tokens, and the key directory of end-to-end encryption. Errors are `{ "error": { "code", "message" } }`.',
        version: '1'
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }
        }
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'auth-openapi' })
