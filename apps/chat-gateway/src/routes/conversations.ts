import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  Ack, AddMemberBody, ConversationParams, ConversationsQuery, ConversationsResponse, CreateGroupBody, ErrorResponse, GroupChangeResponse, GroupParams,
  MemberParams, MemberRoleBody, MessagesQuery, MessagesResponse, RenameGroupBody, SendMessageBody
} from '@metadome/contracts'

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse }

/** REST contract — chat-gateway: the caller's conversations, groups, history and sending (signed in and limited by restRoutes). */
export async function conversationRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/v1/conversations', {
    schema: {
      summary: "The caller's conversations, newest activity first, a page at a time (nextCursor)",
      querystring: ConversationsQuery,
      response: { 200: ConversationsResponse, ...errors }
    }
  }, async (request) => await app.chat.service.conversations(request.userId, { after: request.query.cursor, limit: request.query.limit }))

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

  app.post('/v1/conversations', {
    schema: {
      summary: 'Create a group: the caller is its owner, `members` its members; 201 with the group and the seq of its creation',
      body: CreateGroupBody,
      response: { 201: GroupChangeResponse, ...errors }
    }
  }, async (request, reply) => {
    const { conversation, seq } = await app.chat.service.group(request.userId, { type: 'group', op: 'create', ...request.body })
    return await reply.code(201).send({ conversation, seq })
  })

  app.post('/v1/conversations/:id/members', {
    schema: {
      summary: 'Add a member to a group (its owner and admins)',
      params: GroupParams,
      body: AddMemberBody,
      response: { 200: GroupChangeResponse, ...errors }
    }
  }, async (request) => {
    const { conversation, seq } = await app.chat.service.group(request.userId, { type: 'group', op: 'add', conversationId: request.params.id, userId: request.body.userId })
    return { conversation, seq }
  })

  app.delete('/v1/conversations/:id/members/:userId', {
    schema: {
      summary: 'Remove a member from a group (its owner and admins; anyone may remove themself, which is leaving)',
      params: MemberParams,
      response: { 200: GroupChangeResponse, ...errors }
    }
  }, async (request) => {
    const { conversation, seq } = await app.chat.service.group(request.userId, { type: 'group', op: 'remove', conversationId: request.params.id, userId: request.params.userId })
    return { conversation, seq }
  })

  app.patch('/v1/conversations/:id', {
    schema: {
      summary: 'Rename a group (its owner and admins)',
      params: GroupParams,
      body: RenameGroupBody,
      response: { 200: GroupChangeResponse, ...errors }
    }
  }, async (request) => {
    const { conversation, seq } = await app.chat.service.group(request.userId, { type: 'group', op: 'rename', conversationId: request.params.id, title: request.body.title })
    return { conversation, seq }
  })

  app.patch('/v1/conversations/:id/members/:userId', {
    schema: {
      summary: "Set a member's role: owner, admin or member (the owner)",
      params: MemberParams,
      body: MemberRoleBody,
      response: { 200: GroupChangeResponse, ...errors }
    }
  }, async (request) => {
    const { conversation, seq } = await app.chat.service.group(request.userId, { type: 'group', op: 'role', conversationId: request.params.id, userId: request.params.userId, role: request.body.role })
    return { conversation, seq }
  })
}
