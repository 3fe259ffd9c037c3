import t from 'tap'
import { target, unsigned } from './forge.js'

t.test('a token with alg "none" and no signature is refused', async (t) => {
  const { victim, header, payload, attempt } = await target(t)
  t.same(await attempt(victim.accessToken), { status: 200, code: undefined }, 'the honest token works')
  for (const alg of ['none', 'None', 'NONE']) {
    t.same(await attempt(unsigned({ ...header, alg }, payload)), { status: 401, code: 'unauthorized' }, alg)
  }
  // The honest signature kept, only the header claims "none".
  const [, , signature] = victim.accessToken.split('.')
  t.same(await attempt(unsigned({ ...header, alg: 'none' }, payload) + (signature ?? '')), { status: 401, code: 'unauthorized' })
})
