import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  Ack, ConversationParams, ConversationsResponse, ErrorResponse, MessagesQuery, MessagesResponse, SendMessageBody
} from '@metadome/contracts'

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, 503: ErrorResponse }

/** REST contract — chat-gateway: the caller's conversations, history and sending. */
export async function conversationRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('preHandler', app.authenticate)

  app.get('/v1/conversations', {
    schema: {
      summary: "The caller's conversations",
      response: { 200: ConversationsResponse, ...errors }
    }
  }, async (request) => ({ items: await app.chat.service.conversations(request.userId) }))

  app.get('/v1/conversations/:id/messages', {
    schema: {
      summary: 'Messages of a conversation, newest first, before a seq',
      params: ConversationParams,
      querystring: MessagesQuery,
      response: { 200: MessagesResponse, ...errors }
    }
  }, async (request) => {
    return await app.chat.service.history(request.userId, request.params.id, request.query.before, request.query.limit)
  })

  app.post('/v1/conversations/:id/messages', {
    schema: {
      summary: 'Send a message; 201 with the ack once the stream stored it (the same ack for a repeated id)',
      params: ConversationParams,
      body: SendMessageBody,
      response: { 201: Ack, ...errors }
    }
  }, async (request, reply) => {
    const ack = await app.chat.service.send(request.userId, { ...request.body, conversationId: request.params.id })
    return await reply.code(201).send(ack)
  })
}
