import fp from 'fastify-plugin'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import { sql } from 'kysely'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AccessTokenClaims } from '@metadome/contracts'
import { Unauthorized } from '@metadome/service'
import { loadKeyRing, type KeyRing } from '../../lib/signing-keys.js'
import { markSessionUsed } from '../../db/session.repository.js'

export interface Caller {
  userId: string
  sessionId: string
  role: 'user' | 'admin'
}

export interface Tokens {
  keys: KeyRing
  ttlSeconds: number
  /** A signed access token. EdDSA is deterministic: the same session and iat give the same token. */
  issue: (userId: string, sessionId: string, issuedAt?: Date) => string
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: Tokens
    /** onRequest hook of every signed-in route (so a 401 comes before any 400): sets request.caller. */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    caller: Caller | null
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Pick<AccessTokenClaims, 'sub' | 'sid'> & { iat?: number }
    user: AccessTokenClaims
  }
}

export interface TokensOptions {
  privateKeyFile?: string
  nextKeyFile?: string
  dataDir: string
  issuer: string
  audience: string
  ttlSeconds: number
}

/** The one message of every 401 for a missing or bad token, whatever was wrong with it. */
const TOKEN_REFUSED = 'the access token is missing, invalid or expired'

/**
 * Access tokens: EdDSA (Ed25519) JWTs with kid, iss, aud, sub, sid and exp.
 * Verification accepts only EdDSA, only our issuer and audience, only a kid
 * we publish; then the session must still be active and its user must still
 * exist, so a logout, a revoked session or a deleted user ends its tokens at
 * once here (other services learn it from the USERS stream).
 */
export const tokensPlugin = fp(async function tokensPlugin (app: FastifyInstance, opts: TokensOptions) {
  const keys = await loadKeyRing({ dataDir: opts.dataDir, log: app.log, ...(opts.privateKeyFile !== undefined && { privateKeyFile: opts.privateKeyFile }), ...(opts.nextKeyFile !== undefined && { nextKeyFile: opts.nextKeyFile }) })

  await app.register(fastifyJwt, {
    secret: {
      private: keys.current.privatePem,
      public: async (_request: FastifyRequest, token: TokenOrHeader) => {
        const kid: unknown = 'header' in token ? token.header.kid : token.kid
        const key = typeof kid === 'string' ? keys.byKid.get(kid) : undefined
        if (key === undefined) throw new Unauthorized('the token is signed with an unknown key')
        return key.publicPem
      }
    },
    // The key callback needs the header (kid), not only the payload.
    decode: { complete: true },
    sign: { algorithm: 'EdDSA', kid: keys.current.kid, iss: opts.issuer, aud: opts.audience, expiresIn: opts.ttlSeconds },
    verify: {
      algorithms: ['EdDSA'],
      allowedIss: opts.issuer,
      allowedAud: opts.audience,
      requiredClaims: ['sub', 'sid', 'iss', 'aud', 'exp']
    },
    decoratorName: 'jwtClaims'
  })

  app.decorate('tokens', {
    keys,
    ttlSeconds: opts.ttlSeconds,
    issue: (userId: string, sessionId: string, issuedAt?: Date) =>
      app.jwt.sign({ sub: userId, sid: sessionId, ...(issuedAt !== undefined && { iat: Math.floor(issuedAt.getTime() / 1000) }) })
  } satisfies Tokens)

  app.decorateRequest('caller', null)
  app.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    let claims: AccessTokenClaims
    try {
      claims = await request.jwtVerify<AccessTokenClaims>()
    } catch (err) {
      // Whatever is wrong with a token (fast-jwt reports some algorithm and
      // key mismatches as plain errors, without a status), it is the same
      // 401: the library's reason would tell a forger which check an attempt
      // failed, so it goes to the debug log only.
      request.log.debug({ reason: (err as Error).message }, 'access token refused')
      throw new Unauthorized(TOKEN_REFUSED)
    }
    const row = await app.authDb.selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.id', 'users.role'])
      .where('sessions.id', '=', claims.sid)
      .where('users.id', '=', claims.sub)
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst()
    if (row === undefined) throw new Unauthorized('the session has ended or its user no longer exists')
    await markSessionUsed(app.authDb, claims.sid)
    request.caller = { userId: row.id, sessionId: claims.sid, role: row.role }
  })
}, { name: 'auth-tokens', dependencies: ['metadome-db'] })
