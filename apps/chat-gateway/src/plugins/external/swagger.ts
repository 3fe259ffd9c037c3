import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { asyncApiRoutes } from './asyncapi.js'

/**
 * The gateway's documents. REST: the OpenAPI document, generated from the
 * routes' TypeBox schemas, at /openapi.json, and Swagger UI at /docs (its
 * assets are served from the package, nothing from a CDN). WebSocket and
 * NATS: the AsyncAPI document at /asyncapi.json and /asyncapi.yaml, and a
 * page at /asyncapi. Registered before the routes so that swagger sees them
 * all.
 */
export const swaggerPlugin = fp(async function swaggerPlugin (app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'metadome chat-gateway',
        version: '0.1.0',
        description: 'REST side of the chat gateway. Errors are `{ "error": { "code", "message" } }`. The WebSocket contract (`GET /v1/ws`) and the NATS subjects are in the AsyncAPI document: /asyncapi.json, browsable at /asyncapi.'
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }]
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.register(asyncApiRoutes)
}, { name: 'metadome-swagger' })
