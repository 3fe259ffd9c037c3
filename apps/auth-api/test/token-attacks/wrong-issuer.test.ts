import t from 'tap'
import { target, signEdDSA } from './forge.js'

t.test('a token with another issuer is refused, even though the server\'s key signed it', async (t) => {
  const { header, payload, serverKey, attempt } = await target(t)
  t.equal(payload.iss, 'metadome-auth')
  t.same(await attempt(signEdDSA(header, payload, serverKey)), { status: 200, code: undefined }, 'the same claims re-signed work')
  for (const iss of ['evil-auth', 'metadome-auth ', 'METADOME-AUTH', undefined]) {
    t.same(await attempt(signEdDSA(header, { ...payload, iss }, serverKey)), { status: 401, code: 'unauthorized' }, `iss ${String(iss)}`)
  }
})
