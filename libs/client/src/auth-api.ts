import type { PublishKeysBody, RegisterRequest, SignedDeviceList, TokenResponse, User, UserList, UserResponse } from '@metadome/contracts'
import { httpJson, join } from './http.js'

// auth-api's REST contract (DESIGN.md "REST contract — auth-api"), typed by
// the same TypeBox schemas the server validates with.

export class AuthApi {
  readonly #base: string

  constructor (authUrl: string) {
    this.#base = authUrl
  }

  get url (): string {
    return this.#base
  }

  async register (body: RegisterRequest): Promise<User> {
    return (await httpJson<UserResponse>({ method: 'POST', url: join(this.#base, '/v1/users'), body })).user
  }

  async login (username: string, password: string): Promise<TokenResponse> {
    return await httpJson<TokenResponse>({ method: 'POST', url: join(this.#base, '/v1/auth/login'), body: { username, password } })
  }

  async refresh (refreshToken: string): Promise<TokenResponse> {
    return await httpJson<TokenResponse>({ method: 'POST', url: join(this.#base, '/v1/auth/refresh'), body: { refreshToken } })
  }

  async logout (refreshToken: string): Promise<void> {
    await httpJson<undefined>({ method: 'POST', url: join(this.#base, '/v1/auth/logout'), body: { refreshToken } })
  }

  async me (token: string): Promise<User> {
    return (await httpJson<UserResponse>({ method: 'GET', url: join(this.#base, '/v1/users/me'), token })).user
  }

  async user (token: string, id: string): Promise<User> {
    return (await httpJson<UserResponse>({ method: 'GET', url: join(this.#base, `/v1/users/${encodeURIComponent(id)}`), token })).user
  }

  async users (token: string, query: { q?: string, limit?: number, cursor?: string } = {}): Promise<UserList> {
    const params = new URLSearchParams()
    if (query.q !== undefined && query.q !== '') params.set('q', query.q)
    if (query.limit !== undefined) params.set('limit', String(query.limit))
    if (query.cursor !== undefined) params.set('cursor', query.cursor)
    const qs = params.toString()
    return await httpJson<UserList>({ method: 'GET', url: join(this.#base, `/v1/users${qs === '' ? '' : `?${qs}`}`), token })
  }

  /** `currentPassword` is needed when `signed` is by another account key than the published list's. */
  async putKeys (token: string, signed: SignedDeviceList, currentPassword?: string): Promise<SignedDeviceList> {
    const body: PublishKeysBody = currentPassword === undefined ? signed : { ...signed, currentPassword }
    return await httpJson<SignedDeviceList>({ method: 'PUT', url: join(this.#base, '/v1/users/me/keys'), body, token })
  }

  /** Unverified: what the directory says. Callers check it with verifySignedDeviceList. */
  async keys (token: string, userId: string): Promise<unknown> {
    return await httpJson<unknown>({ method: 'GET', url: join(this.#base, `/v1/users/${encodeURIComponent(userId)}/keys`), token })
  }
}
