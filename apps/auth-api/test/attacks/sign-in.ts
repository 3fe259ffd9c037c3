import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { PASSWORD } from '../helper.js'

// The set-up of the sign-in throttling attacks: requests from chosen client
// addresses (documentation ranges: the victim at home in 203.0.113.0/24,
// attackers in 198.51.100.0/24 and 2001:db8::/32, a new café in 192.0.2.0/24).

export const VICTIM_HOME = '203.0.113.10'
export const ATTACKER = '198.51.100.66'
export const CAFE = '192.0.2.44'

/** POST /v1/auth/login as seen from `ip`. */
export async function loginFrom (app: FastifyInstance, ip: string, username: string, password: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password }, remoteAddress: ip })
}

/** Registers `username` (password PASSWORD) and signs in once from `home`, as its owner does. */
export async function victimAt (app: FastifyInstance, username: string, home = VICTIM_HOME): Promise<{ id: string, authorization: string }> {
  const reg = await app.inject({ method: 'POST', url: '/v1/users', payload: { username, password: PASSWORD }, remoteAddress: home })
  if (reg.statusCode !== 201) throw new Error(`register ${username}: ${reg.statusCode} ${reg.body}`)
  const res = await loginFrom(app, home, username, PASSWORD)
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`)
  const body = res.json<{ accessToken: string, user: { id: string } }>()
  return { id: body.user.id, authorization: `Bearer ${body.accessToken}` }
}

/** Status codes of `responses`, in order, for t.same. */
export const statuses = (responses: LightMyRequestResponse[]): number[] => responses.map((r) => r.statusCode)
