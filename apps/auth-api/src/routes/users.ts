import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BadRequest, NotFound } from '@metadome/service'
import {
  DeleteUserRequest, ListUsersQuery, RegisterRequest, UpdateUserRequest, UserIdParams, UserList, UserResponse
} from '@metadome/contracts'
import { findUserById, listUsers } from '../db/user.repository.js'
import { countPasskeys } from '../db/passkey.repository.js'
import { deleteUserAccount, registerUser, toUser, updateUserAccount } from '../services/users.js'
import type { UsersContext } from '../services/context.js'
import type { Caller } from '../plugins/app/tokens.js'
import { bearer, errors, NoContent } from '../schemas/responses.js'

export interface UsersRoutesOptions {
  rateLimitPerMinute: number
}

export function usersContext (app: FastifyInstance): UsersContext {
  return { db: app.authDb, passwords: app.passwords, eventsWritten: app.outbox.wake }
}

/** Set by the authenticate hook on every signed-in route. */
export function callerOf (request: FastifyRequest): Caller {
  if (request.caller === null) throw new Error('route is missing the authenticate hook')
  return request.caller
}

// An opaque cursor: the last username of the page, lower-cased.
const encodeCursor = (username: string): string => Buffer.from(username.toLowerCase(), 'utf8').toString('base64url')
const decodeCursor = (cursor: string): string => {
  const value = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^[a-z0-9_.-]{1,32}$/.test(value)) throw new BadRequest('cursor is not one this server gave')
  return value
}

export const usersRoutes: FastifyPluginAsyncTypebox<UsersRoutesOptions> = async (app, opts) => {
  const ctx = usersContext(app)
  const signedIn = { onRequest: app.authenticate, schema: { security: bearer } }

  app.post('/v1/users', {
    config: { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: '1 minute' } },
    schema: {
      tags: ['users'],
      summary: 'Register',
      body: RegisterRequest,
      response: { 201: UserResponse, ...errors(400, 409, 413, 429) }
    }
  }, async (request, reply) => {
    const row = await registerUser(ctx, request.body, 'user', request.ip)
    return await reply.code(201).send({ user: toUser(row, { userId: row.id, role: row.role }) })
  })

  app.get('/v1/users', {
    ...signedIn,
    schema: {
      ...signedIn.schema,
      tags: ['users'],
      summary: 'List users by username, keyset-paginated, optionally by prefix',
      querystring: ListUsersQuery,
      response: { 200: UserList, ...errors(400, 401) }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const { limit = 20, cursor, q } = request.query
    const rows = await listUsers(app.authDb, {
      // One more than asked tells whether there is a next page.
      limit: limit + 1,
      ...(cursor !== undefined && { after: decodeCursor(cursor) }),
      ...(q !== undefined && { q })
    })
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return {
      items: page.map((row) => toUser(row, caller)),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.username) : null
    }
  })

  app.get('/v1/users/me', {
    ...signedIn,
    schema: { ...signedIn.schema, tags: ['users'], summary: 'The signed-in user, with the second factors and passkeys in use (mfa)', response: { 200: UserResponse, ...errors(401, 404) } }
  }, async (request) => {
    const caller = callerOf(request)
    const row = await findUserById(app.authDb, caller.userId)
    if (row === undefined) throw new NotFound('no such user')
    // Only here: what protects the account is the owner's business.
    return { user: { ...toUser(row, caller), mfa: { totp: row.totp_secret !== null, passkeys: await countPasskeys(app.authDb, row.id) } } }
  })

  app.get('/v1/users/:id', {
    ...signedIn,
    schema: { ...signedIn.schema, tags: ['users'], summary: 'One user', params: UserIdParams, response: { 200: UserResponse, ...errors(400, 401, 404) } }
  }, async (request) => {
    const row = await findUserById(app.authDb, request.params.id)
    if (row === undefined) throw new NotFound('no such user')
    return { user: toUser(row, callerOf(request)) }
  })

  app.patch('/v1/users/:id', {
    ...signedIn,
    schema: {
      ...signedIn.schema,
      tags: ['users'],
      summary: 'Change a user (self or admin)',
      description: 'A username or password change by the user themself needs currentPassword (403 wrong_current_password; wrong ones count with wrong sign-ins, 429 too_many_attempts with Retry-After). `disabled` and `role` are for admins, on others than themself (403 forbidden otherwise): a disabled user cannot sign in, and every session of theirs ends (their sockets close).',
      params: UserIdParams,
      body: UpdateUserRequest,
      response: { 200: UserResponse, ...errors(400, 401, 403, 404, 409, 413, 429) }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const row = await updateUserAccount(ctx, caller, request.params.id, request.body, request.ip)
    return { user: toUser(row, caller) }
  })

  app.delete('/v1/users/:id', {
    ...signedIn,
    // An admin may send no body at all; validate that as an empty one.
    preValidation: async (request) => { request.body ??= {} },
    schema: {
      ...signedIn.schema,
      tags: ['users'],
      summary: 'Delete a user (self with currentPassword, or admin): their sessions and keys go too',
      description: 'Wrong currentPasswords count with wrong sign-ins (429 too_many_attempts with Retry-After).',
      params: UserIdParams,
      body: DeleteUserRequest,
      response: { 204: NoContent, ...errors(400, 401, 403, 404, 429) }
    }
  }, async (request, reply) => {
    await deleteUserAccount(ctx, callerOf(request), request.params.id, request.body.currentPassword, request.ip)
    return await reply.code(204).send(null)
  })
}

