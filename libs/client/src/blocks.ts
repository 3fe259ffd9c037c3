import type { BlocksResponse } from '@metadome/contracts'
import { gatewayHttpBase } from './gateway-url.js'
import { httpJson, join } from './http.js'
import type { AuthedCalls } from './token-keeper.js'

// Blocking over the gateway's REST routes (DESIGN.md "Limits against
// abuse"): a blocked user cannot message this user, type to them, or add
// them to a group; the gateways and the writer enforce it.

export interface BlocksOptions {
  tokens: AuthedCalls
  /** The gateway to call: the one the socket is on, or dials next. */
  gatewayUrl: () => string
}

export class Blocks {
  readonly #o: BlocksOptions

  constructor (options: BlocksOptions) {
    this.#o = options
  }

  async block (userId: string): Promise<void> {
    await this.#call('PUT', `/v1/users/me/blocks/${encodeURIComponent(userId)}`)
  }

  async unblock (userId: string): Promise<void> {
    await this.#call('DELETE', `/v1/users/me/blocks/${encodeURIComponent(userId)}`)
  }

  /** Whom this user blocked, oldest first. */
  async list (): Promise<BlocksResponse['items']> {
    const reply = await this.#call<BlocksResponse>('GET', '/v1/users/me/blocks')
    return reply?.items ?? []
  }

  async #call<T> (method: 'GET' | 'PUT' | 'DELETE', path: string): Promise<T | undefined> {
    const url = join(gatewayHttpBase(this.#o.gatewayUrl()), path)
    return await this.#o.tokens.authed(async (token) => await httpJson<T | undefined>({ method, url, token }))
  }
}
