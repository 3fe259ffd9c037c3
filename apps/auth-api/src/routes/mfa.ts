import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ConfirmTotpRequest, DisableTotpRequest, EnrollTotpRequest, EnrollTotpResponse, RecoveryCodesResponse } from '@metadome/contracts'
import { confirmTotp, disableTotp, enrollTotp, type MfaContext } from '../services/totp.js'
import { callerOf } from './users.js'
import { bearer, errors, NoContent } from '../schemas/responses.js'

export interface MfaRoutesOptions {
  rateLimitPerMinute: number
}

/** TOTP as a second factor (DESIGN.md "Accounts"); the sign-in side is in routes/auth.ts. */
export const mfaRoutes: FastifyPluginAsyncTypebox<MfaRoutesOptions> = async (app, opts) => {
  const ctx: MfaContext = { db: app.authDb, passwords: app.passwords }
  const limited = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: '1 minute' } }

  app.post('/v1/auth/mfa/totp/enroll', {
    onRequest: app.authenticate,
    config: limited,
    schema: {
      security: bearer,
      tags: ['mfa'],
      summary: 'Start TOTP enrolment: a new secret, on once a first code confirms it',
      description: 'Needs currentPassword (403 wrong_current_password; wrong ones count with wrong sign-ins). 409 mfa_already_enabled.',
      body: EnrollTotpRequest,
      response: { 200: EnrollTotpResponse, ...errors(400, 401, 403, 409, 413, 429) }
    }
  }, async (request) => await enrollTotp(ctx, callerOf(request).userId, request.body.currentPassword, request.ip))

  app.post('/v1/auth/mfa/totp/confirm', {
    onRequest: app.authenticate,
    config: limited,
    schema: {
      security: bearer,
      tags: ['mfa'],
      summary: 'Confirm enrolment with a first code: TOTP is on, and ten recovery codes are shown, once',
      description: '403 wrong_mfa_code; 409 mfa_not_enabled without an enrolment, mfa_already_enabled when on.',
      body: ConfirmTotpRequest,
      response: { 200: RecoveryCodesResponse, ...errors(400, 401, 403, 409, 413, 429) }
    }
  }, async (request) => ({ recoveryCodes: await confirmTotp(ctx, callerOf(request).userId, request.body.code, request.ip) }))

  app.delete('/v1/auth/mfa/totp', {
    onRequest: app.authenticate,
    config: limited,
    schema: {
      security: bearer,
      tags: ['mfa'],
      summary: 'Turn TOTP off (with currentPassword and a code or a recovery code); the recovery codes go too',
      body: DisableTotpRequest,
      response: { 204: NoContent, ...errors(400, 401, 403, 409, 413, 429) }
    }
  }, async (request, reply) => {
    await disableTotp(ctx, callerOf(request).userId, request.body.currentPassword, request.body.code, request.ip)
    return await reply.code(204).send(null)
  })
}
