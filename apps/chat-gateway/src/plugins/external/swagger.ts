import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'

/** The OpenAPI document, generated from the routes' TypeBox schemas, at /openapi.json. */
export const swaggerPlugin = fp(async function swaggerPlugin (app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      info: { title: 'metadome chat-gateway', version: '0.1.0', description: 'REST side of the chat gateway; the WebSocket contract is in asyncapi.yaml' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }]
    }
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'metadome-swagger' })
