import t from 'tap'
import { PASSWORD } from '../helper.js'
import { target } from './forge.js'

t.test('the still-unexpired token of a deleted user is refused', async (t) => {
  const { app, victim, attempt } = await target(t)
  t.same(await attempt(victim.accessToken), { status: 200, code: undefined })
  const del = await app.inject({ method: 'DELETE', url: `/v1/users/${victim.id}`, headers: victim.auth, payload: { currentPassword: PASSWORD } })
  t.equal(del.statusCode, 204)
  t.same(await attempt(victim.accessToken), { status: 401, code: 'unauthorized' })
  const keys = await app.inject({ method: 'GET', url: `/v1/users/${victim.id}/keys`, headers: victim.auth })
  t.equal(keys.statusCode, 401, 'on every protected route')
})
