import type { FastifyInstance } from 'fastify'

export const PASSWORD = 'correct horse battery staple'

export interface Account {
  id: string
  username: string
  password: string
  accessToken: string
  refreshToken: string
  /** Authorization header for inject() or fetch(). */
  auth: { authorization: string }
}

/** Registers `username` on the stack's auth-api (password PASSWORD unless given) and signs in. */
export async function signUp (auth: FastifyInstance, username: string, extra: { password?: string, email?: string, displayName?: string } = {}): Promise<Account> {
  const password = extra.password ?? PASSWORD
  const reg = await auth.inject({ method: 'POST', url: '/v1/users', payload: { username, password, ...(extra.email !== undefined && { email: extra.email }), ...(extra.displayName !== undefined && { displayName: extra.displayName }) } })
  if (reg.statusCode !== 201) throw new Error(`register ${username}: ${reg.statusCode} ${reg.body}`)
  return { ...await signIn(auth, username, password), id: reg.json<{ user: { id: string } }>().user.id }
}

/** Signs in again: a new session (another device) of the same user. */
export async function signIn (auth: FastifyInstance, username: string, password = PASSWORD): Promise<Account> {
  const res = await auth.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`)
  const body = res.json<{ accessToken: string, refreshToken: string, user: { id: string } }>()
  return { id: body.user.id, username, password, accessToken: body.accessToken, refreshToken: body.refreshToken, auth: { authorization: `Bearer ${body.accessToken}` } }
}
