import t from 'tap'
import { target, signEdDSA, freshKey } from './forge.js'

t.test('a token signed by a key the server does not publish is refused', async (t) => {
  const { header, payload, attempt } = await target(t)
  const attacker = freshKey()
  t.same(await attempt(signEdDSA({ ...header, kid: 'attacker-key' }, payload, attacker)), { status: 401, code: 'unauthorized' }, 'an unknown kid')
  t.same(await attempt(signEdDSA({ alg: 'EdDSA', typ: 'JWT' }, payload, attacker)), { status: 401, code: 'unauthorized' }, 'no kid')
  t.same(await attempt(signEdDSA(header, payload, attacker)), { status: 401, code: 'unauthorized' }, 'our kid, another key')
})
