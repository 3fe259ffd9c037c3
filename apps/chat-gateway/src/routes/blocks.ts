import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { BlockParams, BlocksResponse, ErrorResponse } from '@metadome/contracts'

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse }

/**
 * REST contract — blocking (DESIGN.md "Limits against abuse"). A user the
 * caller blocked cannot send them a direct message or typing, nor add them
 * to a group (`forbidden`). Served by the gateways, which enforce it;
 * signed in and limited by restRoutes.
 */
export async function blockRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/v1/users/me/blocks', {
    schema: { summary: 'The users the caller blocked', response: { 200: BlocksResponse, ...errors } }
  }, async (request) => ({ items: await app.chat.service.blocksOf(request.userId) }))

  app.put('/v1/users/me/blocks/:userId', {
    schema: { summary: 'Blocks a user (again: no change)', params: BlockParams, response: { 204: { type: 'null' }, ...errors } }
  }, async (request, reply) => {
    await app.chat.service.setBlocked(request.userId, request.params.userId, true)
    return await reply.code(204).send(null)
  })

  app.delete('/v1/users/me/blocks/:userId', {
    schema: { summary: 'Unblocks a user (not blocked: no change)', params: BlockParams, response: { 204: { type: 'null' }, ...errors } }
  }, async (request, reply) => {
    await app.chat.service.setBlocked(request.userId, request.params.userId, false)
    return await reply.code(204).send(null)
  })
}
