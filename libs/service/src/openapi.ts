import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/** The security requirement of a signed-in route, by the one scheme name every app's document uses. */
export const bearerSecurity = [{ bearer: [] }]

export interface OpenApiOptions {
  title: string
  description: string
  version: string
}

/**
 * The OpenAPI 3.1 document of an app, generated from its routes' TypeBox
 * schemas, at /openapi.json, and Swagger UI at /docs (its assets are served
 * from the package, nothing from a CDN). Registered before the routes, so
 * that it sees them all.
 */
export const openapi = fp(async function openapi (app: FastifyInstance, opts: OpenApiOptions) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: opts.title, description: opts.description, version: opts.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'metadome-openapi' })
