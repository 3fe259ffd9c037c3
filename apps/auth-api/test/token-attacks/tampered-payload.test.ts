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
  // Inside the signature: its last base64url character carries only 2 of its
  // 6 bits, so changing it can leave the decoded signature the same.
  const at = victim.accessToken.length - 10
  const flipped = victim.accessToken.slice(0, at) + (victim.accessToken[at] === 'A' ? 'B' : 'A') + victim.accessToken.slice(at + 1)
  t.same(await attempt(flipped), { status: 401, code: 'unauthorized' }, 'a changed signature')
  t.same(await attempt('not.a.jwt'), { status: 401, code: 'unauthorized' }, 'garbage')
})
