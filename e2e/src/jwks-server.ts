import { generateKeyPairSync, sign, randomUUID, type KeyObject } from 'node:crypto'
import { createServer as createHttpsServer } from 'node:https'
import Fastify from 'fastify'
import type { Teardown } from '@metadome/testing'

export interface TokenOptions {
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number
  issuedAt?: number
  /** The session (`sid`); a fresh one by default, `null` for a token without. */
  sessionId?: string | null
  iss?: string
  aud?: string
  kid?: string
  alg?: string
  key?: KeyObject
}

export interface JwksServer {
  /** What AUTH_URL points at. */
  url: string
  kid: string
  /** An access token for `userId`, signed like auth-api signs them. */
  token: (userId: string, options?: TokenOptions) => string
  /** Adds a new signing key to the set (a rotation) and returns its kid. */
  rotate: () => string
  /** How many times the JWKS was fetched. */
  fetches: () => number
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * A real HTTP(S) server serving an Ed25519 JWKS, standing in for auth-api where
 * a test is about the gateway's own token handling.
 */
export async function startJwksServer (t: Teardown, options: { https?: { key: Buffer, cert: Buffer } } = {}): Promise<JwksServer> {
  const keys = new Map<string, { privateKey: KeyObject, publicKey: KeyObject }>()
  const add = (): string => {
    const kid = randomUUID()
    keys.set(kid, generateKeyPairSync('ed25519'))
    return kid
  }
  let kid = add()
  let fetches = 0
  // Over https with a certificate the caller gives (the gateway's AUTH_URL check and fetch over TLS).
  const tls = options.https
  const server = Fastify(tls === undefined ? {} : { serverFactory: (handler) => createHttpsServer(tls, handler) })
  server.get('/.well-known/jwks.json', async () => {
    fetches++
    return { keys: [...keys].map(([k, pair]) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid: k, alg: 'EdDSA', use: 'sig' })) }
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await server.close() })
  const address = server.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `${options.https === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    get kid () { return kid },
    token (userId, options = {}) {
      const now = Math.floor(Date.now() / 1000)
      const header = { alg: options.alg ?? 'EdDSA', typ: 'JWT', kid: options.kid ?? kid }
      const claims = {
        sub: userId,
        ...(options.sessionId === null ? {} : { sid: options.sessionId ?? randomUUID() }),
        iss: options.iss ?? 'metadome-auth',
        aud: options.aud ?? 'metadome',
        iat: options.issuedAt ?? now,
        exp: now + (options.expiresIn ?? 900)
      }
      const signed = `${b64(header)}.${b64(claims)}`
      const key = options.key ?? keys.get(header.kid)?.privateKey ?? (keys.get(kid) as { privateKey: KeyObject }).privateKey
      return `${signed}.${sign(null, Buffer.from(signed), key).toString('base64url')}`
    },
    rotate () {
      kid = add()
      return kid
    },
    fetches: () => fetches
  }
}
