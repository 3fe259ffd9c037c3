import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Forbidden, NotFound } from '@metadome/service'
import { SignedDeviceList, UserIdParams } from '@metadome/contracts'
import { verifySignedDeviceList } from '@metadome/e2ee'
import { getDeviceList, putDeviceList } from '../db/device-list.repository.js'
import { InvalidSignature, VersionConflict } from '../errors.js'
import { callerOf } from './users.js'
import { bearer, errors } from '../schemas/responses.js'

/**
 * The key directory (DESIGN.md "End-to-end encryption"). The server cannot
 * forge a device list, only store it: it checks the account key's signature
 * over DEVICE_LIST_CONTEXT + canonicalJson(deviceList), that the list is the
 * caller's, and that its version only grows.
 */
const keys: FastifyPluginAsyncTypebox = async (app) => {
  app.put('/v1/users/me/keys', {
    onRequest: app.authenticate,
    schema: {
      security: bearer,
      tags: ['keys'],
      summary: 'Publish the caller\'s signed device list',
      body: SignedDeviceList,
      response: { 200: SignedDeviceList, ...errors(400, 401, 403, 409, 413) }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const signed = request.body
    if (signed.deviceList.userId !== caller.userId) throw new Forbidden('deviceList.userId is not the signed-in user')
    const check = await verifySignedDeviceList(signed)
    if (!check.ok) throw new InvalidSignature(`the device list is not validly signed: ${check.reason}`)
    if (!await putDeviceList(app.authDb, caller.userId, signed)) {
      throw new VersionConflict('deviceList.version must be higher than the stored version')
    }
    return signed
  })

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

export default keys
