import t from 'tap'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build, signUp, tempDir } from '../helper.js'
import { signEdDSA, decode } from '../token-attacks/forge.js'

t.test('GET /.well-known/jwks.json publishes the signing key, cacheable', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/.well-known/jwks.json')
  t.equal(res.statusCode, 200)
  t.match(res.headers['cache-control'], /max-age=\d+/)
  const { keys } = res.json()
  t.equal(keys.length, 1)
  t.match(keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: app.tokens.keys.current.kid, x: /^[A-Za-z0-9_-]{43}$/ })
  t.notOk('d' in keys[0], 'never the private part')
})

t.test('during a rotation the next key is published too, and tokens it signs are accepted', async (t) => {
  const dir = await tempDir(t)
  const current = generateKeyPairSync('ed25519').privateKey
  const next = generateKeyPairSync('ed25519').privateKey
  await writeFile(join(dir, 'current.pem'), current.export({ format: 'pem', type: 'pkcs8' }))
  // The next key may be given as its public half only: this replica does not sign with it yet.
  await writeFile(join(dir, 'next.pem'), createPublicKey(next).export({ format: 'pem', type: 'spki' }))
  const { app } = await build(t, { JWT_PRIVATE_KEY_FILE: join(dir, 'current.pem'), JWT_NEXT_KEY_FILE: join(dir, 'next.pem') })
  const { keys } = (await app.inject('/.well-known/jwks.json')).json()
  t.equal(keys.length, 2)
  t.equal(keys[0].kid, app.tokens.keys.current.kid)
  t.equal(keys[1].kid, app.tokens.keys.next?.kid)

  const alice = await signUp(app, 'alice')
  t.equal(decode(alice.accessToken).header.kid, keys[0].kid, 'signed with the current key')
  // What a replica that already moved to the next key would issue.
  const { header, payload } = decode(alice.accessToken)
  const fromNext = signEdDSA({ ...header, kid: keys[1].kid }, payload, next)
  t.equal((await app.inject({ url: '/v1/users/me', headers: { authorization: `Bearer ${fromNext}` } })).statusCode, 200)
})
