import t from 'tap'
import { randomUUID, generateKeyPairSync } from 'node:crypto'
import { startJwksServer } from '@metadome/e2e'
import { TokenVerifier, InvalidTokenError, KeysUnavailableError } from '../../src/auth/token-verifier.js'

const verifierFor = (url: string, now?: () => number) => new TokenVerifier({
  jwksUrl: `${url}/.well-known/jwks.json`, issuer: 'metadome-auth', audience: 'metadome', minRefetchMs: 60_000, ...(now === undefined ? {} : { now })
})

t.test('a token signed by a JWKS key gives its user id and expiry', async (t) => {
  const jwks = await startJwksServer(t)
  const userId = randomUUID()
  const verified = await verifierFor(jwks.url).verify(jwks.token(userId, { expiresIn: 60 }))
  t.equal(verified.userId, userId)
  t.ok(verified.expiresAt > Date.now() / 1000)
})

t.test('tokens that must be refused are refused', async (t) => {
  const jwks = await startJwksServer(t)
  const verifier = verifierFor(jwks.url)
  const userId = randomUUID()
  const good = jwks.token(userId)
  const [h, p] = good.split('.') as [string, string, string]
  const cases: Array<[string, string]> = [
    ['expired', jwks.token(userId, { expiresIn: -1 })],
    ['wrong issuer', jwks.token(userId, { iss: 'someone-else' })],
    ['wrong audience', jwks.token(userId, { aud: 'other' })],
    ['signed by a key not in the JWKS', jwks.token(userId, { key: generateKeyPairSync('ed25519').privateKey })],
    ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', kid: jwks.kid })).toString('base64url')}.${p}.`],
    ['HS256 claimed', jwks.token(userId, { alg: 'HS256' })],
    ['claims changed after signing', `${h}.${Buffer.from(JSON.stringify({ sub: randomUUID(), iss: 'metadome-auth', aud: 'metadome', exp: 9999999999 })).toString('base64url')}.${good.split('.')[2] ?? ''}`],
    ['not a JWT', 'hello'],
    ['subject is not a user id', jwks.token('admin')]
  ]
  for (const [name, token] of cases) {
    await t.rejects(verifier.verify(token), InvalidTokenError, name)
  }
})

t.test('a rotated key is fetched on its first token, but unknown kids do not hammer the JWKS', async (t) => {
  const jwks = await startJwksServer(t)
  let clock = Date.now()
  const verifier = verifierFor(jwks.url, () => clock)
  await verifier.verify(jwks.token(randomUUID()))
  t.equal(jwks.fetches(), 1)
  const kid = jwks.rotate()
  clock += 61_000
  const userId = randomUUID()
  t.equal((await verifier.verify(jwks.token(userId, { kid }))).userId, userId)
  t.equal(jwks.fetches(), 2)
  for (let i = 0; i < 5; i++) {
    await t.rejects(verifier.verify(jwks.token(userId, { kid: randomUUID() })), InvalidTokenError)
  }
  t.equal(jwks.fetches(), 2, 'no refetch within the minimum interval')
})

t.test('without a reachable JWKS and no cached key, verification is unavailable, not a bad token', async (t) => {
  const jwks = await startJwksServer(t)
  const verifier = new TokenVerifier({ jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json', issuer: 'metadome-auth', audience: 'metadome' })
  await t.rejects(verifier.verify(jwks.token(randomUUID())), KeysUnavailableError)
})
