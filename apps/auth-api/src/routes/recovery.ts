import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ForgotPasswordRequest, ResetPasswordRequest, VerifyEmailRequest } from '@metadome/contracts'
import { accountsContext } from '../services/accounts-context.js'
import { forgotPassword, resetPassword } from '../services/recovery.js'
import { requestEmailVerification, verifyEmail } from '../services/email-verification.js'
import { callerOf } from './users.js'
import { Accepted, bearer, errors, NoContent } from '../schemas/responses.js'

export interface RecoveryRoutesOptions {
  rateLimitPerMinute: number
  publicUrl: string
}

/**
 * Mailed links: email verification and password recovery (DESIGN.md
 * "Accounts"). Each token is one-time, short-lived and replaced by a newer
 * one (db/account-token.repository.ts). The anonymous routes are rate
 * limited per client address: they are what a guesser would hammer.
 */
export const recoveryRoutes: FastifyPluginAsyncTypebox<RecoveryRoutesOptions> = async (app, opts) => {
  const ctx = accountsContext(app, opts.publicUrl)
  const limited = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: '1 minute' } }

  app.post('/v1/auth/email/verify-request', {
    onRequest: app.authenticate,
    config: limited,
    schema: {
      security: bearer,
      tags: ['accounts'],
      summary: 'Mail the signed-in user a link that proves their email address',
      description: 'The link (PUBLIC_URL/verify-email?token=…) works once, for 24 hours, and only while the address stays the same; a newer request replaces it. 400 no_email without an address.',
      response: { 202: Accepted, ...errors(400, 401, 429) }
    }
  }, async (request, reply) => {
    await requestEmailVerification(ctx, callerOf(request).userId, request.ip)
    return await reply.code(202).send({})
  })

  app.post('/v1/auth/email/verify', {
    config: limited,
    schema: {
      tags: ['accounts'],
      summary: 'Spend a verification token: the address becomes verified',
      description: '400 invalid_token for a token that is unknown, expired, replaced, spent, or for an address the user no longer has.',
      body: VerifyEmailRequest,
      response: { 204: NoContent, ...errors(400, 413, 429) }
    }
  }, async (request, reply) => {
    await verifyEmail(ctx, request.body.token, request.ip)
    return await reply.code(204).send(null)
  })

  app.post('/v1/auth/password/forgot', {
    config: limited,
    schema: {
      tags: ['accounts'],
      summary: 'Mail a password reset link',
      description: 'Always 202, at once, whether the account exists or not (the work happens after the answer). An existing, enabled account with an email address is mailed a link (PUBLIC_URL/reset-password?token=…) valid 30 minutes, once; a newer request replaces it.',
      body: ForgotPasswordRequest,
      response: { 202: Accepted, ...errors(400, 413, 429) }
    }
  }, async (request, reply) => {
    const body = request.body
    const ip = request.ip
    app.background.run('password reset mail', async () => { await forgotPassword(ctx, body, ip) })
    return await reply.code(202).send({})
  })

  app.post('/v1/auth/password/reset', {
    config: limited,
    schema: {
      tags: ['accounts'],
      summary: 'Choose a new password with a mailed token',
      description: 'Every session of the user ends (their sockets close). 400 invalid_token, weak_password or password_too_long; 403 account_disabled while an admin has the account disabled (the link stays valid until it expires).',
      body: ResetPasswordRequest,
      response: { 204: NoContent, ...errors(400, 403, 413, 429) }
    }
  }, async (request, reply) => {
    await resetPassword(ctx, request.body.token, request.body.password, request.ip)
    return await reply.code(204).send(null)
  })
}
