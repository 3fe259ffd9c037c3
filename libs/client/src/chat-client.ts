import {
  CONVERSATIONS_MAX_LIMIT, directConversationId, directMembers,
  type Ack, type Conversation, type ReceiptKind, type SendFrame, type ServerFrame, type Session,
  type SignedDeviceList, type TokenResponse, type User, type UserList
} from '@metadome/contracts'
import { formatSafetyNumber, isE2eeError, safetyNumber, type Envelope } from '@metadome/e2ee'
import { AuthApi } from './auth-api.js'
import { ConversationBook } from './conversation-book.js'
import { ensureDeviceKeys, type DeviceKeys } from './device-keys.js'
import { Directory } from './directory.js'
import { Emitter } from './emitter.js'
import { ChatClientError, isChatClientError } from './errors.js'
import { GatewayLink } from './gateway-link.js'
import { gatewaySocketUrls } from './gateway-url.js'
import { Groups } from './groups.js'
import { Blocks } from './blocks.js'
import { Sessions } from './sessions.js'
import { Inbox } from './inbox.js'
import { MemoryKeyStore, storeNames, type KeyStore } from './key-store.js'
import { TextSealer } from './text-sealer.js'
import { keepSession, resumeSession, TokenKeeper, type StoredSession } from './token-keeper.js'
import type { ChatClientEvents, ConnectOptions, HistoryItem, LoginOptions, RegisterOptions, SendTarget } from './client-options.js'

// The SDK of DESIGN.md "Client SDK". One ChatClient is one signed-in device,
// and this class is only where its parts meet:
//
//   TokenKeeper  the session's tokens: refreshed ahead of expiry, shared with
//                other processes on the key store; each new access token
//                renews the socket, a refused refresh closes the client
//   device keys  made or loaded before the client exists, and published
//   Directory    contacts' lists, verified, cached and pinned (TOFU): a new
//                account key raises `keyChanged` and nothing is sealed to (or
//                accepted from) it until trust(userId)
//   GatewayLink  one socket at a time, redialed over the gateways; after
//                every `ready` the inbox syncs from its cursor, and the link
//                sends again what was not answered
//   Inbox        messages decrypted and handed over once, in seq order; what
//                does not open is `rejected`
//   TextSealer   texts sealed for every member's devices (sendText)
//   ConversationBook and Groups  the members to seal for and who could write
//                when, fed by the gateway's frames and by group changes made
//                here over its REST routes
//
// Nothing here imports node:*, so it runs unchanged in browsers.

export { gatewaySocketUrl } from './gateway-url.js'
export type { TextEvent, RejectedEvent } from './inbox.js'

export type { ChatClientEvents, ConnectOptions, LoginOptions, RegisterOptions, SendTarget, HistoryItem } from './client-options.js'

/** The `ref` of the `sync` frame, to tell its error from others. */
const SYNC_REF = 'sync'

function toClientError (err: unknown): unknown {
  if (isE2eeError(err)) return new ChatClientError(err.code, err.message, { cause: err })
  return err
}

interface Parts {
  api: AuthApi
  store: KeyStore
  user: User
  tokens: TokenKeeper
  keys: DeviceKeys
  urls: [string, ...string[]]
  options: ConnectOptions
}

export class ChatClient extends Emitter<ChatClientEvents> {
  readonly #api: AuthApi
  readonly #user: User
  readonly #keys: DeviceKeys
  readonly #tokens: TokenKeeper
  readonly #directory: Directory
  readonly #conversations = new ConversationBook()
  readonly #link: GatewayLink
  readonly #inbox: Inbox
  readonly #sealer: TextSealer
  readonly #groups: Groups
  readonly #blocks: Blocks
  readonly #sessions: Sessions
  #nextRef = 0
  #closed = false

  // Built once the tokens and this device's keys exist (they come first: the
  // keys are published with the tokens), so every part is here from the
  // start. The parts reach one another only through the callbacks given here.
  private constructor ({ api, store, user, tokens, keys, urls, options }: Parts) {
    super()
    this.#api = api
    this.#user = user
    this.#keys = keys
    this.#tokens = tokens
    const names = storeNames(user.id)
    tokens.on('rotated', (accessToken) => { this.#link.renew(accessToken) })
    tokens.on('ended', (err) => { void this.#shutdown(err) })
    tokens.on('error', (err) => { this.emit('error', err) })
    this.#directory = new Directory({
      fetch: async (userId) => await tokens.authed(async (token) => await api.keys(token, userId)).catch((err: unknown) => {
        if (isChatClientError(err, 'not_found')) throw new ChatClientError('no_keys', `user ${userId} has published no keys yet`)
        throw err
      }),
      store,
      pinsName: names.pins,
      self: { userId: user.id, accountKey: keys.accountKey },
      maxAgeMs: Infinity,
      onKeyChanged: (change) => { this.emit('keyChanged', change) }
    })
    this.#link = new GatewayLink({
      urls,
      tokens,
      WebSocket: options.WebSocket,
      reconnect: options.reconnect,
      heartbeatMs: options.heartbeatMs,
      requestTimeoutMs: options.requestTimeoutMs,
      onReady: (url) => {
        this.#conversations.reconnected()
        this.emit('connected', { url })
        this.#inbox.resync()
      },
      onFrame: (frame) => { this.#dispatch(frame) },
      onDisconnected: (event) => { this.emit('disconnected', event) }
    })
    this.#sealer = new TextSealer({
      userId: user.id,
      device: keys.device,
      directory: this.#directory,
      store,
      names,
      deviceListMaxAgeMs: options.deviceListMaxAgeMs ?? 0
    })
    this.#inbox = new Inbox({
      userId: user.id,
      device: keys.device,
      directory: this.#directory,
      conversations: this.#conversations,
      store,
      cursorName: names.cursor,
      listConversations: async () => await this.conversations(),
      sentText: (messageId) => this.#sealer.sentText(messageId),
      sync: (after) => { this.#link.send({ type: 'sync', after, ref: SYNC_REF }) },
      onText: (event) => { this.emit('text', event) },
      onRejected: (event) => { this.emit('rejected', event) },
      onSynced: (cursor) => {
        this.#link.up()
        this.emit('synced', { cursor })
      },
      onError: (err) => { this.emit('error', err) }
    })
    this.#groups = new Groups({ userId: user.id, tokens, conversations: this.#conversations, gatewayUrl: () => this.#link.url })
    this.#blocks = new Blocks({ tokens, gatewayUrl: () => this.#link.url })
    this.#sessions = new Sessions(api.url, tokens)
  }

  /** Creates an account (POST /v1/users). Sign in with login() afterwards. */
  static async register (options: RegisterOptions): Promise<User> {
    const { authUrl, ...body } = options
    return await new AuthApi(authUrl).register(body)
  }

  /** Signs in with a password, makes or loads this device's keys, connects and syncs. */
  static async login (options: LoginOptions): Promise<ChatClient> {
    const api = new AuthApi(options.authUrl)
    let tokens: TokenResponse
    try {
      tokens = await api.login(options.username, options.password)
    } catch (err) {
      if (isChatClientError(err, 'unauthorized')) throw new ChatClientError('invalid_credentials', 'wrong username or password', { status: 401 })
      throw err
    }
    const store = options.keyStore ?? new MemoryKeyStore()
    const session = await keepSession(store, storeNames(tokens.user.id).session, tokens)
    return await ChatClient.#start(api, store, tokens.user, session, options, options.password)
  }

  /**
   * Resumes the session kept in `keyStore` for `userId` (refreshing its
   * tokens as needed). With newKeys, `password` is the account's: tokens got
   * with a second factor or a passkey (Accounts) can then start over too.
   */
  static async resume (options: ConnectOptions & { userId: string, keyStore: KeyStore, password?: string }): Promise<ChatClient> {
    const api = new AuthApi(options.authUrl)
    const session = await resumeSession(api, options.keyStore, storeNames(options.userId).session)
    const user = await api.me(session.accessToken)
    return await ChatClient.#start(api, options.keyStore, user, session, options, options.password)
  }

  /** `password` is login()'s: replacing the published account key needs it. */
  static async #start (api: AuthApi, store: KeyStore, user: User, session: StoredSession, options: ConnectOptions, password: string | undefined): Promise<ChatClient> {
    const urls = gatewaySocketUrls(options.gatewayUrl)
    const tokens = new TokenKeeper(api, store, storeNames(user.id).session, session)
    tokens.schedule()
    let keys: DeviceKeys
    try {
      keys = await ensureDeviceKeys({ userId: user.id, api, tokens, store, names: storeNames(user.id), newKeys: options.newKeys === true, password })
    } catch (err) {
      tokens.stop()
      throw toClientError(err)
    }
    const client = new ChatClient({ api, store, user, tokens, keys, urls, options })
    try {
      await client.#inbox.load()
      await client.#sealer.load()
      if (options.connect !== false) await client.connect()
    } catch (err) {
      await client.close()
      throw toClientError(err)
    }
    return client
  }

  /** The signed-in user's id. */
  get userId (): string {
    return this.#user.id
  }

  get user (): User {
    return this.#user
  }

  get deviceId (): string {
    return this.#keys.device.deviceId
  }

  /** The highest seq this client has handled. */
  get cursor (): number {
    return this.#inbox.cursor
  }

  /** This user's account public key (base64url). */
  get accountKey (): string {
    return this.#keys.accountKey
  }

  get connected (): boolean {
    return this.#link.ready
  }

  /** The gateway of the current (or last) socket. */
  get gatewayUrl (): string {
    return this.#link.socketUrl
  }

  /** Connects to a gateway and resolves after the first sync; rejects `unreachable` if no gateway answers. */
  async connect (): Promise<void> {
    if (this.#closed) throw new ChatClientError('closed', 'the client is closed')
    await this.#link.connect()
  }

  /** The frames the link does not answer itself. */
  #dispatch (frame: ServerFrame): void {
    switch (frame.type) {
      case 'message':
        this.#inbox.receive(frame.message)
        return
      case 'synced':
        this.#inbox.synced()
        return
      case 'receipt':
        this.emit('receipt', frame)
        return
      case 'typing':
        this.emit('typing', frame)
        return
      case 'conversation':
        this.#conversations.learn(frame.conversation, frame.change)
        this.emit('conversation', frame.conversation)
        return
      case 'error':
        // Could not sync here: try another gateway.
        if (frame.ref === SYNC_REF) this.#link.hangUp('sync failed')
        else this.emit('error', new ChatClientError(frame.code, frame.message))
    }
  }

  // ------------------------------------------------------------------ chat

  /**
   * Encrypts `text` for every device of every member (this user's other
   * devices too) and sends it; resolves with the ack once the stream stored it.
   */
  async sendText (target: SendTarget, text: string): Promise<Ack> {
    if (this.#closed) throw new ChatClientError('closed', 'the client is closed')
    const { conversationId, members } = await this.#membersOf(target)
    const id = crypto.randomUUID()
    let body: Envelope
    try {
      body = await this.#sealer.seal({ conversationId, members, messageId: id, text })
    } catch (err) {
      throw toClientError(err)
    }
    this.#inbox.markSeen(id)
    const frame: SendFrame & { ref: string } = 'to' in target
      ? { type: 'send', id, to: target.to, body, ref: id }
      : { type: 'send', id, conversationId, body, ref: id }
    const ack = await this.#link.request(frame, 'ack')
    return { id: ack.id, conversationId: ack.conversationId, seq: ack.seq, sentAt: ack.sentAt }
  }

  async #membersOf (target: SendTarget): Promise<{ conversationId: string, members: string[] }> {
    if ('to' in target) return { conversationId: directConversationId(this.userId, target.to), members: [target.to] }
    const direct = directMembers(target.conversationId)
    if (direct !== undefined) return { conversationId: target.conversationId, members: direct }
    let conversation = this.#conversations.get(target.conversationId)
    if (conversation === undefined) {
      await this.conversations()
      conversation = this.#conversations.get(target.conversationId)
    }
    if (conversation === undefined) throw new ChatClientError('not_found', `no conversation ${target.conversationId}`)
    return { conversationId: conversation.id, members: conversation.members }
  }

  /** A page of a conversation's history, newest first, decrypted. */
  async history (conversationId: string, options: { before?: number, limit?: number } = {}): Promise<{ items: HistoryItem[], hasMore: boolean }> {
    const ref = `h${++this.#nextRef}`
    const reply = await this.#link.request({
      type: 'history', conversationId, ref, ...(options.before !== undefined && { before: options.before }), ...(options.limit !== undefined && { limit: options.limit })
    }, 'history')
    const items: HistoryItem[] = []
    for (const message of reply.items) {
      const decrypted = await this.#inbox.decrypt(message)
      const base = { message, senderId: message.senderId }
      if (decrypted.kind === 'rejected') items.push({ ...base, text: undefined, code: decrypted.code })
      else items.push({ ...base, text: decrypted.text })
    }
    return { items, hasMore: reply.hasMore }
  }

  /** One page of this user's conversations, newest activity first; `nextCursor` (absent on the last page) is where the next starts. */
  async conversationsPage (page: { after?: string, limit?: number } = {}): Promise<{ items: Conversation[], nextCursor?: string }> {
    const ref = `c${++this.#nextRef}`
    const reply = await this.#link.request({ type: 'conversations', ref, ...(page.after === undefined ? {} : { after: page.after }), ...(page.limit === undefined ? {} : { limit: page.limit }) }, 'conversations')
    // Only the whole list, read to its last page, says a group is not ours.
    this.#conversations.learnList(reply.items, page.after === undefined && reply.nextCursor === undefined)
    return { items: reply.items, ...(reply.nextCursor === undefined ? {} : { nextCursor: reply.nextCursor }) }
  }

  /** Every conversation this user is a member of, newest activity first, read page by page. */
  async conversations (): Promise<Conversation[]> {
    const all: Conversation[] = []
    const seen = new Set<string>()
    let after: string | undefined
    do {
      const page = await this.conversationsPage(after === undefined ? { limit: CONVERSATIONS_MAX_LIMIT } : { after, limit: CONVERSATIONS_MAX_LIMIT })
      // One whose activity changed between two pages may come twice.
      for (const c of page.items) if (!seen.has(c.id)) { seen.add(c.id); all.push(c) }
      after = page.nextCursor
    } while (after !== undefined)
    this.#conversations.learnList([], true)
    return all
  }

  /** Tells the other members that this user read (or got) everything up to `seq`. */
  receipt (conversationId: string, seq: number, kind: ReceiptKind = 'read'): void {
    this.#link.send({ type: 'receipt', conversationId, seq, kind })
  }

  /** Tells the other members that this user is typing (send it every few seconds while they type). */
  typing (conversationId: string): void {
    this.#link.send({ type: 'typing', conversationId })
  }

  /** The direct conversation's id with `userId`. */
  directConversationId (userId: string): string {
    return directConversationId(this.userId, userId)
  }

  // ------------------------------------------------------------------ users and keys

  async users (query: { q?: string, limit?: number, cursor?: string } = {}): Promise<UserList> {
    return await this.#tokens.authed(async (token) => await this.#api.users(token, query))
  }

  async getUser (id: string): Promise<User> {
    return await this.#tokens.authed(async (token) => await this.#api.user(token, id))
  }

  /** The user with exactly this username (any case), or not_found. */
  async findUser (username: string): Promise<User> {
    const page = await this.users({ q: username, limit: 100 })
    const user = page.items.find((u) => u.username.toLowerCase() === username.toLowerCase())
    if (user === undefined) throw new ChatClientError('not_found', `no user named ${username}`)
    return user
  }

  /** A contact's verified device list (fetched now). */
  async deviceList (userId: string): Promise<SignedDeviceList> {
    try {
      return await this.#directory.list(userId, { fresh: true })
    } catch (err) {
      throw toClientError(err)
    }
  }

  /**
   * The safety number with a contact (60 digits in groups of five), over the
   * account key the directory serves now; `changed` says it is not the pinned one.
   */
  async safetyNumber (userId: string): Promise<{ digits: string, formatted: string, accountKey: string, changed: boolean }> {
    const list = await this.deviceList(userId)
    const digits = await safetyNumber({ userId: this.userId, accountKey: this.accountKey }, { userId, accountKey: list.accountKey })
    const pin = await this.#directory.trusted(userId)
    return { digits, formatted: formatSafetyNumber(digits), accountKey: list.accountKey, changed: pin !== undefined && pin !== list.accountKey }
  }

  /** Trusts the account key the directory serves now for `userId` (after comparing safety numbers). */
  async trust (userId: string): Promise<void> {
    try {
      await this.#directory.trust(userId)
    } catch (err) {
      throw toClientError(err)
    }
  }

  // ------------------------------------------------------------------ groups

  /** Creates a group (POST /v1/conversations on the gateway). */
  async createGroup (title: string, members: string[]): Promise<Conversation> {
    return await this.#groups.create(title, members)
  }

  /** Adds a member (the group's owner and admins); resolves with the group after the change. */
  async addMember (conversationId: string, userId: string): Promise<Conversation> {
    return await this.#groups.add(conversationId, userId)
  }

  /** Removes a member (the owner and admins; anyone may remove themself); resolves with the group after the change. */
  async removeMember (conversationId: string, userId: string): Promise<Conversation> {
    return await this.#groups.remove(conversationId, userId)
  }

  async leaveGroup (conversationId: string): Promise<void> {
    await this.removeMember(conversationId, this.userId)
  }

  /** Renames a group (its owner and admins). */
  async renameGroup (conversationId: string, title: string): Promise<Conversation> {
    return await this.#groups.rename(conversationId, title)
  }

  // ---------------------------------------------------------------- blocking

  /** Blocks a user: they can no longer message this user, type to them, or add them to a group. */
  async block (userId: string): Promise<void> {
    await this.#blocks.block(userId)
  }

  async unblock (userId: string): Promise<void> {
    await this.#blocks.unblock(userId)
  }

  /** The users this user blocked, oldest first. */
  async blocks (): Promise<Array<{ userId: string, since: string }>> {
    return await this.#blocks.list()
  }

  // ---------------------------------------------------------------- sessions

  /** This user's active sessions (one per signed-in device), newest first; `current` is this one. */
  async sessions (): Promise<Session[]> {
    return await this.#sessions.list()
  }

  /** Ends another of this user's sessions; for this device's own, use logout(). */
  async endSession (sessionId: string): Promise<void> {
    await this.#sessions.end(sessionId)
  }

  // ------------------------------------------------------------------ end

  /** Ends the session on the server (the refresh token is spent) and closes. */
  async logout (): Promise<void> {
    try {
      await this.#tokens.logout()
    } finally {
      await this.close()
    }
  }

  /** Closes the socket and stops reconnecting and refreshing; keys and the cursor stay in the store. */
  async close (): Promise<void> {
    await this.#shutdown(undefined)
  }

  /** `error` says why the client closed itself (the session ended); close() gives none. */
  async #shutdown (error: ChatClientError | undefined): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#tokens.stop()
    await this.#link.close(error ?? new ChatClientError('closed', 'the client is closed'))
    await this.#inbox.idle()
    this.emit('closed', error === undefined ? {} : { error })
    this.removeAllListeners()
  }
}
