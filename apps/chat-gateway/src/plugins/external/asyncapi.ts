import type {} from '@fastify/swagger' // its typing of schema.hide
import type { FastifyInstance } from 'fastify'
import { buildAsyncApi } from '../../asyncapi/document.js'
import { asyncApiHtml } from '../../asyncapi/html.js'
import { asyncApiYaml } from '../../asyncapi/yaml.js'

/**
 * The AsyncAPI document of the WebSocket frames and NATS subjects, built once
 * from libs/contracts: `/asyncapi.json`, `/asyncapi.yaml` (the text of the
 * committed asyncapi.yaml) and a page to read it at `/asyncapi`.
 */
export async function asyncApiRoutes (app: FastifyInstance): Promise<void> {
  const doc = buildAsyncApi()
  const json = JSON.stringify(doc)
  const yaml = asyncApiYaml(doc)
  const html = asyncApiHtml(doc)
  const hide = { schema: { hide: true } }
  app.get('/asyncapi.json', hide, async (_request, reply) => await reply.type('application/json; charset=utf-8').send(json))
  app.get('/asyncapi.yaml', hide, async (_request, reply) => await reply.type('application/yaml; charset=utf-8').send(yaml))
  app.get('/asyncapi', hide, async (_request, reply) => await reply.type('text/html; charset=utf-8').send(html))
}
