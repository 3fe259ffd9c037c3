import type { AddMemberBody, Conversation, CreateGroupBody, GroupChangeResponse, RenameGroupBody } from '@metadome/contracts'
import type { ConversationBook } from './conversation-book.js'
import { gatewayHttpBase } from './gateway-url.js'
import { httpJson, join } from './http.js'
import type { AuthedCalls } from './token-keeper.js'

// Group changes over the gateway's REST routes (DESIGN.md "REST contract —
// chat-gateway"), at the gateway the socket uses. Each reply is the group
// after the change, kept in the conversation book so that the next send
// seals for its members at once, before the change's `conversation` frame
// arrives on the socket.

export interface GroupsOptions {
  userId: string
  tokens: AuthedCalls
  conversations: ConversationBook
  /** The gateway to call: the one the socket is on, or dials next. */
  gatewayUrl: () => string
}

export class Groups {
  readonly #o: GroupsOptions

  constructor (options: GroupsOptions) {
    this.#o = options
  }

  /** POST /v1/conversations: the caller is the owner. */
  async create (title: string, members: string[]): Promise<Conversation> {
    const body: CreateGroupBody = { title, members }
    const reply = await this.#call('POST', '/v1/conversations', body)
    this.#o.conversations.learn(reply.conversation, { type: 'created', seq: reply.seq, actorId: this.#o.userId })
    return reply.conversation
  }

  async add (conversationId: string, userId: string): Promise<Conversation> {
    const body: AddMemberBody = { userId }
    return await this.#change('POST', `${groupPath(conversationId)}/members`, body)
  }

  async remove (conversationId: string, userId: string): Promise<Conversation> {
    const conversation = await this.#change('DELETE', `${groupPath(conversationId)}/members/${encodeURIComponent(userId)}`)
    if (userId === this.#o.userId) this.#o.conversations.forget(conversationId)
    return conversation
  }

  async rename (conversationId: string, title: string): Promise<Conversation> {
    const body: RenameGroupBody = { title }
    return await this.#change('PATCH', groupPath(conversationId), body)
  }

  async #change (method: 'POST' | 'DELETE' | 'PATCH', path: string, body?: AddMemberBody | RenameGroupBody): Promise<Conversation> {
    const reply = await this.#call(method, path, body)
    this.#o.conversations.keep(reply.conversation)
    return reply.conversation
  }

  async #call (method: 'POST' | 'DELETE' | 'PATCH', path: string, body?: CreateGroupBody | AddMemberBody | RenameGroupBody): Promise<GroupChangeResponse> {
    const url = join(gatewayHttpBase(this.#o.gatewayUrl()), path)
    return await this.#o.tokens.authed(async (token) => await httpJson<GroupChangeResponse>({ method, url, token, ...(body !== undefined && { body }) }))
  }
}

function groupPath (conversationId: string): string {
  return `/v1/conversations/${encodeURIComponent(conversationId)}`
}
