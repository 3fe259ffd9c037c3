import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  PasskeyIdParams, PasskeyList, PasskeyLoginRequest, PasskeyResponse, RegisterPasskeyRequest, RenamePasskeyRequest, TokenResponse, WebAuthnOptions
} from '@metadome/contracts'
import { listPasskeys } from '../db/passkey.repository.js'
import {
  loginOptions, passkeyLogin, registerPasskey, registrationOptions, removeUserPasskey, renameUserPasskey, toPasskey, type PasskeysContext, type RelyingParty
} from '../services/passkeys.js'
import { LoginRefused } from '../services/sign-in.js'
import { callerOf } from './users.js'
import { sessionsContext, tokenPair, userAgentOf, type AuthRoutesOptions } from './auth.js'
import { bearer, errors, NoContent } from '../schemas/responses.js'

export interface PasskeysRoutesOptions extends AuthRoutesOptions {
  rp: RelyingParty
}

/** Passkeys (WebAuthn, DESIGN.md "Accounts"): several per user, named, removable, and a way to sign in without a password. */
export const passkeysRoutes: FastifyPluginAsyncTypebox<PasskeysRoutesOptions> = async (app, opts) => {
  const ctx: PasskeysContext = { ...sessionsContext(app, opts), rp: opts.rp, log: app.log }
  const limited = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: '1 minute' } }
  const signedIn = { onRequest: app.authenticate }

  app.post('/v1/auth/passkeys/register-options', {
    ...signedIn,
    config: limited,
    schema: {
      security: bearer,
      tags: ['passkeys'],
      summary: 'Options for navigator.credentials.create(): the first step of adding a passkey',
      response: { 200: WebAuthnOptions, ...errors(401, 429) }
    }
  }, async (request) => await registrationOptions(ctx, callerOf(request).userId))

  app.post('/v1/auth/passkeys/register', {
    ...signedIn,
    config: limited,
    schema: {
      security: bearer,
      tags: ['passkeys'],
      summary: 'Add a passkey: the attestation (JSON form) answering the options',
      description: '400 passkey_refused for a spent or unknown challenge, another origin or relying party; 409 passkey_exists.',
      body: RegisterPasskeyRequest,
      response: { 201: PasskeyResponse, ...errors(400, 401, 409, 413, 429) }
    }
  }, async (request, reply) => {
    const passkey = await registerPasskey(ctx, callerOf(request).userId, request.body, request.ip)
    return await reply.code(201).send({ passkey })
  })

  app.get('/v1/auth/passkeys', {
    ...signedIn,
    schema: { security: bearer, tags: ['passkeys'], summary: 'The caller\'s passkeys', response: { 200: PasskeyList, ...errors(401) } }
  }, async (request) => ({ items: (await listPasskeys(app.authDb, callerOf(request).userId)).map(toPasskey) }))

  app.patch('/v1/auth/passkeys/:id', {
    ...signedIn,
    schema: {
      security: bearer,
      tags: ['passkeys'],
      summary: 'Rename one of the caller\'s passkeys',
      params: PasskeyIdParams,
      body: RenamePasskeyRequest,
      response: { 200: PasskeyResponse, ...errors(400, 401, 404, 413) }
    }
  }, async (request) => ({ passkey: await renameUserPasskey(ctx, callerOf(request).userId, request.params.id, request.body.name, request.ip) }))

  app.delete('/v1/auth/passkeys/:id', {
    ...signedIn,
    schema: {
      security: bearer,
      tags: ['passkeys'],
      summary: 'Remove one of the caller\'s passkeys',
      params: PasskeyIdParams,
      response: { 204: NoContent, ...errors(400, 401, 404) }
    }
  }, async (request, reply) => {
    await removeUserPasskey(ctx, callerOf(request).userId, request.params.id, request.ip)
    return await reply.code(204).send(null)
  })

  app.post('/v1/auth/passkeys/login-options', {
    config: limited,
    schema: {
      tags: ['passkeys'],
      summary: 'Options for navigator.credentials.get(): the first step of signing in with a passkey',
      response: { 200: WebAuthnOptions, ...errors(429) }
    }
  }, async () => await loginOptions(ctx))

  app.post('/v1/auth/passkeys/login', {
    config: limited,
    schema: {
      tags: ['passkeys'],
      summary: 'Sign in with a passkey: the assertion (JSON form) answering the options',
      description: 'The usual token pair. 401 passkey_refused, alike for an unknown passkey, a spent challenge (a replay), another origin, a bad signature or a counter that did not grow; 403 account_disabled.',
      body: PasskeyLoginRequest,
      response: { 200: TokenResponse, ...errors(400, 401, 403, 413, 429) }
    }
  }, async (request) => {
    try {
      return tokenPair(app, await passkeyLogin(ctx, request.body.credential, { userAgent: userAgentOf(request), ip: request.ip }))
    } catch (err) {
      if (err instanceof LoginRefused) throw err.error
      throw err
    }
  })
}
