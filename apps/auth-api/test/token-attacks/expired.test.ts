import t from 'tap'
import { target, signEdDSA, now } from './forge.js'

t.test('an expired token is refused, even though the server signed it', async (t) => {
  const { app, victim, header, payload, serverKey, attempt } = await target(t)
  const old = app.tokens.issue(victim.id, String(payload.sid), new Date(Date.now() - 16 * 60 * 1000))
  t.same(await attempt(old), { status: 401, code: 'unauthorized' }, 'issued 16 minutes ago with the 15-minute lifetime')
  const justExpired = signEdDSA(header, { ...payload, iat: now() - 60, exp: now() - 1 }, serverKey)
  t.same(await attempt(justExpired), { status: 401, code: 'unauthorized' }, 'exp one second ago')
  const noExp = signEdDSA(header, { ...payload, exp: undefined }, serverKey)
  t.same(await attempt(noExp), { status: 401, code: 'unauthorized' }, 'no exp at all')
})
