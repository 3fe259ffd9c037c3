import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Counter } from 'prom-client'
import { NotFound } from '@metadome/service'
import { LoginRefusedResponse, RefreshRequest, SessionIdParams, SessionList, SignInRequest, TokenResponse } from '@metadome/contracts'
import { endSession, logout, refresh, type Issued, type SessionsContext } from '../services/sessions.js'
import { LoginRefused, mfaLogin, passwordLogin, totpStep } from '../services/sign-in.js'
import { MfaRequired } from '../errors.js'
import { listActiveSessions } from '../db/session.repository.js'
import { toUser } from '../services/users.js'
import { callerOf } from './users.js'
import { bearer, errors, NoContent } from '../schemas/responses.js'

export interface AuthRoutesOptions {
  rateLimitPerMinute: number
  refreshTtlSeconds: number
  sessionMaxAgeSeconds: number
  graceSeconds: number
}

export function sessionsContext (app: FastifyInstance, opts: AuthRoutesOptions): SessionsContext {
  return {
    db: app.authDb,
    passwords: app.passwords,
    tokens: app.tokens,
    refreshTtlSeconds: opts.refreshTtlSeconds,
    sessionMaxAgeSeconds: opts.sessionMaxAgeSeconds,
    graceSeconds: opts.graceSeconds,
    eventsWritten: app.outbox.wake
  }
}

/** A sign-in's answer (TokenResponse), whichever way it was made. */
export function tokenPair (app: FastifyInstance, issued: Issued): TokenResponse {
  return {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    tokenType: 'Bearer',
    expiresIn: app.tokens.ttlSeconds,
    user: toUser(issued.user, { userId: issued.user.id, role: issued.user.role })
  }
}

/** The device a session is shown as, bounded. */
export const userAgentOf = (request: FastifyRequest): string | null => request.headers['user-agent']?.slice(0, 256) ?? null

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, opts) => {
  const ctx = sessionsContext(app, opts)
  const limited = { rateLimit: { max: opts.rateLimitPerMinute, timeWindow: '1 minute' } }
  const logins = new Counter({
    name: 'auth_logins_total',
    help: 'Sign-in attempts by outcome: success, failure (wrong password or unknown user), locked (account slowed down)',
    labelNames: ['outcome'],
    registers: [app.metrics]
  })
  for (const outcome of ['success', 'failure', 'locked', 'mfa_required']) logins.inc({ outcome }, 0)
  const secondFactor = totpStep(ctx)

  const pair = (issued: Issued): TokenResponse => tokenPair(app, issued)

  app.post('/v1/auth/login', {
    config: limited,
    schema: {
      tags: ['sessions'],
      summary: 'Sign in: an access token and a refresh token',
      description: 'With `{username, password}`, or, when the account has TOTP on, then with `{mfaToken, code}`: the first step answers 401 mfa_required with an mfaToken (valid 5 minutes) and the second takes a TOTP code (each works once) or a recovery code (401 invalid_mfa_code, invalid_mfa_token; wrong codes count like wrong passwords). A disabled account gets 403 account_disabled. An unknown user and a wrong password get the same 401. Wrong passwords (here and as currentPassword) are counted per account and client address: after 5 from one address, that address waits 1 s, then 2 s, 4 s … at most 15 minutes between attempts (429 too_many_attempts with Retry-After). After 50 from all addresses together within an hour, addresses that have not signed in to the account before wait too, at most a minute.',
      body: SignInRequest,
      response: { 200: TokenResponse, 401: LoginRefusedResponse, ...errors(400, 403, 413, 429) }
    }
  }, async (request, reply) => {
    const from = { userAgent: userAgentOf(request), ip: request.ip }
    const body = request.body
    try {
      const issued = 'mfaToken' in body
        ? await mfaLogin(ctx, body.mfaToken, body.code, from)
        : await passwordLogin(ctx, body.username, body.password, from, secondFactor)
      logins.inc({ outcome: 'success' })
      return pair(issued)
    } catch (err) {
      if (!(err instanceof LoginRefused)) throw err
      logins.inc({ outcome: err.outcome })
      if (err.error instanceof MfaRequired) {
        // The one refusal with more than the error in it (DESIGN.md "Accounts").
        return await reply.code(401).send({ error: { code: err.error.code, message: err.error.message }, mfaToken: err.error.mfaToken })
      }
      throw err.error
    }
  })

  app.post('/v1/auth/refresh', {
    config: limited,
    schema: {
      tags: ['sessions'],
      summary: 'A new pair for a refresh token, which is then spent',
      description: 'Presenting a spent refresh token again revokes its whole session (refresh_token_reused), except within a few seconds of its first use, when the same new pair is returned (two tabs refreshing at once).',
      body: RefreshRequest,
      response: { 200: TokenResponse, ...errors(400, 401, 413, 429) }
    }
  }, async (request) => pair(await refresh(ctx, request.body.refreshToken, request.ip)))

  app.post('/v1/auth/logout', {
    schema: {
      tags: ['sessions'],
      summary: 'End the session of a refresh token',
      body: RefreshRequest,
      response: { 204: NoContent, ...errors(400, 413) }
    }
  }, async (request, reply) => {
    await logout(ctx, request.body.refreshToken, request.ip)
    return await reply.code(204).send(null)
  })

  app.get('/v1/auth/sessions', {
    onRequest: app.authenticate,
    schema: {
      security: bearer,
      tags: ['sessions'],
      summary: 'The caller\'s active sessions',
      response: { 200: SessionList, ...errors(401) }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const rows = await listActiveSessions(app.authDb, caller.userId)
    return {
      items: rows.map((s) => ({
        id: s.id,
        createdAt: s.created_at.toISOString(),
        lastUsedAt: s.last_used_at.toISOString(),
        expiresAt: s.expires_at.toISOString(),
        userAgent: s.user_agent,
        ip: s.ip,
        current: s.id === caller.sessionId
      }))
    }
  })

  app.delete('/v1/auth/sessions/:id', {
    onRequest: app.authenticate,
    schema: {
      security: bearer,
      tags: ['sessions'],
      summary: 'End one of the caller\'s sessions',
      params: SessionIdParams,
      response: { 204: NoContent, ...errors(400, 401, 404) }
    }
  }, async (request, reply) => {
    if (!await endSession(ctx, callerOf(request).userId, request.params.id, request.ip)) throw new NotFound('no such active session')
    return await reply.code(204).send(null)
  })
}

