import t from 'tap'
import { target, signHS256 } from './forge.js'

t.test('an HS256 token whose secret is the server\'s public key is refused (algorithm confusion)', async (t) => {
  const { app, header, payload, attempt } = await target(t)
  const { publicPem, jwk } = app.tokens.keys.current
  for (const secret of [publicPem, Buffer.from(publicPem), Buffer.from(jwk.x, 'base64url'), jwk.x]) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = signHS256({ ...header, alg }, payload, secret)
      t.same(await attempt(token), { status: 401, code: 'unauthorized' }, `${alg} keyed with the public key`)
    }
  }
})
