import t from 'tap'
import { signUp } from '../helper.js'
import { target, decode } from './forge.js'

t.test('a token whose payload was changed after signing is refused', async (t) => {
  const { app, victim, attempt } = await target(t)
  const admin = await signUp(app, 'mallory')
  const [h, , s] = victim.accessToken.split('.')
  const { payload } = decode(victim.accessToken)
  for (const change of [{ sub: admin.id }, { exp: Number(payload.exp) + 3600 }, { role: 'admin' }]) {
    const forged = `${h ?? ''}.${Buffer.from(JSON.stringify({ ...payload, ...change })).toString('base64url')}.${s ?? ''}`
    t.same(await attempt(forged), { status: 401, code: 'unauthorized' }, JSON.stringify(change))
  }
  const flipped = victim.accessToken.slice(0, -2) + (victim.accessToken.endsWith('A') ? 'BB' : 'AA')
  t.same(await attempt(flipped), { status: 401, code: 'unauthorized' }, 'a changed signature')
  t.same(await attempt('not.a.jwt'), { status: 401, code: 'unauthorized' }, 'garbage')
})
