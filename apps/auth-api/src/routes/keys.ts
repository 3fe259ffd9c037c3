import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFound } from '@metadome/service'
import { PublishKeysBody, SignedDeviceList, UserIdParams } from '@metadome/contracts'
import { getDeviceList } from '../db/device-list.repository.js'
import { publishDeviceList, type KeysContext } from '../services/keys.js'
import { callerOf } from './users.js'
import { bearer, errors } from '../schemas/responses.js'

/**
 * The key directory (DESIGN.md "End-to-end encryption"): the server checks
 * and stores signed device lists, never forges them. What a publish must
 * satisfy is in services/keys.ts.
 */
export const keysRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx: KeysContext = { db: app.authDb, passwords: app.passwords }

  app.put('/v1/users/me/keys', {
    onRequest: app.authenticate,
    schema: {
      security: bearer,
      tags: ['keys'],
      summary: 'Publish the caller\'s signed device list',
      description: 'deviceList.version must be the stored version + 1 (409 version_conflict otherwise). A list signed by another account key than the stored one needs currentPassword (400 current_password_required, 403 wrong_current_password, 429 too_many_attempts with Retry-After: wrong ones count with wrong sign-ins); it is never stored or served.',
      body: PublishKeysBody,
      response: { 200: SignedDeviceList, ...errors(400, 401, 403, 409, 413, 429) }
    }
  }, async (request) => await publishDeviceList(ctx, callerOf(request), request.body, request.ip))

  app.get('/v1/users/:id/keys', {
    onRequest: app.authenticate,
    schema: {
      security: bearer,
      tags: ['keys'],
      summary: 'A user\'s signed device list',
      params: UserIdParams,
      response: { 200: SignedDeviceList, ...errors(400, 401, 404) }
    }
  }, async (request) => {
    const row = await getDeviceList(app.authDb, request.params.id)
    if (row === undefined) throw new NotFound('this user has published no keys')
    return row.signed
  })
}

