import { createPublicKey, verify, type KeyObject, type JsonWebKey } from 'node:crypto'

/** What the gateway needs from a valid access token. */
export interface VerifiedToken {
  userId: string
  /** The session the token belongs to (`sid`): its end closes the sockets opened with it. */
  sessionId: string
  /** Seconds since the epoch. */
  expiresAt: number
  /** Seconds since the epoch; 0 when the token has no `iat`. */
  issuedAt: number
}

/** The token is not acceptable (malformed, bad signature, expired, wrong iss/aud, unknown key). */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError'
}

/** The JWKS could not be fetched and the token's key is not cached: try again later. */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError'
}

export interface TokenVerifierOptions {
  jwksUrl: string
  issuer: string
  audience: string
  /** An unknown `kid` triggers a refetch at most this often, so garbage tokens cannot hammer auth-api. */
  minRefetchMs?: number
  /** Keys are refetched in the background after this long, so a removed key stops verifying. */
  maxAgeMs?: number
  fetchTimeoutMs?: number
  now?: () => number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// Ed25519 JWS: RFC 8037 names it EdDSA; RFC 9864 adds the fully specified "Ed25519".
const ALGORITHMS = new Set(['EdDSA', 'Ed25519'])

function decodeJson (part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidTokenError('token is not a JWS')
  }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Verifies auth-api's EdDSA access tokens against its JWKS. Keys are cached
 * by `kid`; a token with an unknown `kid` (a rotated key) refetches the set,
 * at most once per `minRefetchMs`, with concurrent callers sharing one fetch.
 * Only Ed25519 keys are accepted and the algorithm is fixed, so a token
 * cannot choose how it is verified (no `none`, no HMAC with the public key).
 */
export class TokenVerifier {
  readonly #options: Required<TokenVerifierOptions>
  #keys = new Map<string, KeyObject>()
  #fetchedAt = 0
  #attemptedAt = Number.NEGATIVE_INFINITY
  #inflight: Promise<void> | undefined

  constructor (options: TokenVerifierOptions) {
    this.#options = { minRefetchMs: 5_000, maxAgeMs: 10 * 60_000, fetchTimeoutMs: 3_000, now: Date.now, ...options }
  }

  async verify (token: string): Promise<VerifiedToken> {
    const parts = token.split('.')
    if (parts.length !== 3) throw new InvalidTokenError('token is not a JWS')
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
    const header = decodeJson(headerPart)
    if (!isRecord(header) || typeof header.alg !== 'string' || !ALGORITHMS.has(header.alg)) {
      throw new InvalidTokenError('unsupported token algorithm')
    }
    if (typeof header.kid !== 'string') throw new InvalidTokenError('token has no kid')

    const key = await this.#key(header.kid)
    const signed = Buffer.from(`${headerPart}.${payloadPart}`)
    if (!verify(null, signed, key, Buffer.from(signaturePart, 'base64url'))) {
      throw new InvalidTokenError('bad token signature')
    }

    const claims = decodeJson(payloadPart)
    if (!isRecord(claims)) throw new InvalidTokenError('token claims are not an object')
    const now = this.#options.now() / 1000
    if (typeof claims.exp !== 'number' || claims.exp <= now) throw new InvalidTokenError('token expired')
    if (typeof claims.nbf === 'number' && claims.nbf > now + 5) throw new InvalidTokenError('token not yet valid')
    if (claims.iss !== this.#options.issuer) throw new InvalidTokenError('token issuer is wrong')
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (!audience.includes(this.#options.audience)) throw new InvalidTokenError('token audience is wrong')
    if (typeof claims.sub !== 'string' || !UUID.test(claims.sub)) throw new InvalidTokenError('token subject is not a user id')
    // A token without a session could never be revoked by a logout.
    if (typeof claims.sid !== 'string' || !UUID.test(claims.sid)) throw new InvalidTokenError('token has no session')
    return {
      userId: claims.sub.toLowerCase(),
      sessionId: claims.sid.toLowerCase(),
      expiresAt: claims.exp,
      issuedAt: typeof claims.iat === 'number' ? claims.iat : 0
    }
  }

  async #key (kid: string): Promise<KeyObject> {
    const now = this.#options.now()
    const cached = this.#keys.get(kid)
    if (cached !== undefined) {
      // Stale: refresh in the background; the cached key still answers now.
      if (now - this.#fetchedAt > this.#options.maxAgeMs) this.#refresh().catch(() => {})
      return cached
    }
    if (this.#inflight === undefined && now - this.#attemptedAt < this.#options.minRefetchMs) {
      throw new InvalidTokenError('unknown token key')
    }
    await this.#refresh()
    const key = this.#keys.get(kid)
    if (key === undefined) throw new InvalidTokenError('unknown token key')
    return key
  }

  async #refresh (): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => { this.#inflight = undefined })
    await this.#inflight
  }

  async #fetch (): Promise<void> {
    this.#attemptedAt = this.#options.now()
    let body: unknown
    try {
      const res = await fetch(this.#options.jwksUrl, { signal: AbortSignal.timeout(this.#options.fetchTimeoutMs) })
      if (!res.ok) throw new Error(`status ${res.status}`)
      body = await res.json()
    } catch (err) {
      throw new KeysUnavailableError(`cannot fetch the JWKS: ${err instanceof Error ? err.message : String(err)}`)
    }
    const keys = new Map<string, KeyObject>()
    const list = isRecord(body) && Array.isArray(body.keys) ? body.keys : []
    for (const jwk of list) {
      if (!isRecord(jwk) || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string') continue
      try {
        keys.set(jwk.kid, createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }))
      } catch {
        // A malformed entry must not hide the good ones.
      }
    }
    this.#keys = keys
    this.#fetchedAt = this.#options.now()
  }
}
