import t from 'tap'
import { target, signEdDSA } from './forge.js'

t.test('a token for another audience is refused, even though the server\'s key signed it', async (t) => {
  const { header, payload, serverKey, attempt } = await target(t)
  t.equal(payload.aud, 'metadome')
  for (const aud of ['other-service', ['other-service'], 'metadome-admin', undefined]) {
    t.same(await attempt(signEdDSA(header, { ...payload, aud }, serverKey)), { status: 401, code: 'unauthorized' }, `aud ${JSON.stringify(aud)}`)
  }
})
