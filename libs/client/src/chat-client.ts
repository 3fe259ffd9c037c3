import {
  directConversationId, directMembers, CloseCode,
  type Ack, type ClientFrame, type Conversation, type Message, type ReceiptEventFrame, type ReceiptKind,
  type ServerFrame, type SignedDeviceList, type TokenResponse, type TypingEventFrame, type User, type UserList
} from '@metadome/contracts'
import {
  createReceiver, E2eeError, envelopeSender, exportAccountKey, exportDeviceKeys, formatSafetyNumber, generateAccountKey,
  generateDeviceKeys, importAccountKey, importDeviceKeys, isE2eeError, nextDeviceList, publicDevice, safetyNumber,
  accountPublicKey, sealEnvelope, signDeviceList, verifySignedDeviceList,
  type AccountKeyPair, type DeviceKeyPair, type E2eeErrorCode, type Receiver
} from '@metadome/e2ee'
import { AuthApi } from './auth-api.js'
import { Directory, type KeyChange } from './directory.js'
import { Emitter } from './emitter.js'
import { GroupRolls } from './group-rolls.js'
import { ChatClientError, isChatClientError } from './errors.js'
import { httpJson, join } from './http.js'
import { MemoryKeyStore, storeNames, type KeyStore } from './key-store.js'
import { defaultWebSocket, OPEN, type SocketLike, type WebSocketConstructor } from './websocket.js'

// The SDK of DESIGN.md "Client SDK". One ChatClient is one signed-in device:
//
//   keys      the account key and this device's keys live in the KeyStore;
//             the first login makes them and publishes the signed device
//             list; a device holding the account key adds itself to the list
//   directory contacts' lists are verified, cached and pinned (TOFU): a new
//             account key raises `keyChanged` and nothing is sealed to (or
//             accepted from) it until trust(userId)
//   link      one WebSocket at a time, authenticated with the first `auth`
//             frame (as browsers must), to the gateways in turn; after every
//             `ready` it syncs from the stored cursor and re-sends what was
//             not answered (a send keeps its id, so the stream keeps one copy)
//   inbox     frames are handled one after another, so `text` events come in
//             seq order; a message is handed over once (by id, and by the
//             cursor across restarts); what does not open is `rejected`
//
// Nothing here imports node:*, so it runs unchanged in browsers.

export interface TextEvent {
  message: Message
  text: string
  senderId: string
  /** The sending device (the sender's other devices show up as the same senderId). */
  deviceId: string
  conversationId: string
}

export interface RejectedEvent {
  message: Message
  /** The check that failed (E2eeError code), or `unknown_device` when the sender's keys could not be had. */
  code: E2eeErrorCode
  error: Error
}

export interface ChatClientEvents {
  text: TextEvent
  rejected: RejectedEvent
  keyChanged: KeyChange
  receipt: ReceiptEventFrame
  typing: TypingEventFrame
  conversation: Conversation
  connected: { url: string }
  disconnected: { url: string, code: number, reason: string }
  synced: { cursor: number }
  /** The session ended for good (revoked, user deleted, refresh refused): the client is closed. */
  closed: { error?: ChatClientError }
  /** Something went wrong that the client works around (a failed refresh it retries, a listener's exception). */
  error: unknown
}

export interface ConnectOptions {
  authUrl: string
  /** One or several gateways, as ws(s)://host/v1/ws or as the http(s):// address they are served at (see gatewaySocketUrl); reconnects go round them. */
  gatewayUrl: string | string[]
  /** Where keys, tokens, pins and the cursor live; in memory by default (a new device every run). */
  keyStore?: KeyStore
  /** A WebSocket constructor; globalThis.WebSocket, else the `ws` package. */
  WebSocket?: WebSocketConstructor
  /** Reconnect backoff: full jitter between 0 and min(max, min * 2^attempt). */
  reconnect?: { minDelayMs?: number, maxDelayMs?: number }
  /**
   * How old a cached device list may be when a text is sealed (default 0:
   * every send fetches the members' lists, so a new device or a new account
   * key is seen at once). Opening uses the cache and fetches again when the
   * sending device is not in it.
   */
  deviceListMaxAgeMs?: number
  /** How long a request (send, history) waits for its answer across reconnects (default 30 s). */
  requestTimeoutMs?: number
  /** Ping a quiet socket after this long, and drop it after twice as long without an answer (default 15 s). */
  heartbeatMs?: number
  /** Open the socket and sync before resolving (default true). */
  connect?: boolean
  /**
   * Replace the account key and this device's keys with new ones and publish
   * them (contacts see `keyChanged`). For a device that lost the account
   * key, or to start over.
   */
  newKeys?: boolean
}

export interface LoginOptions extends ConnectOptions {
  username: string
  password: string
}

export interface RegisterOptions {
  authUrl: string
  username: string
  password: string
  displayName?: string
  email?: string
}

export type SendTarget = { to: string } | { conversationId: string }

export interface HistoryItem {
  message: Message
  /** The decrypted text; undefined when it did not open (see `code`) or was sent from this device and not kept. */
  text: string | undefined
  senderId: string
  /** Set when the message did not open. */
  code?: E2eeErrorCode
}

interface StoredSession {
  userId: string
  username: string
  accessToken: string
  refreshToken: string
  /** ms since the epoch. */
  expiresAt: number
  /** ms the access token lives, to decide when to refresh. */
  lifetimeMs: number
}

interface SentText {
  conversationId: string
  text: string
  sentAt: string
}

type Opened =
  | { kind: 'text', text: string, deviceId: string }
  | { kind: 'own', text: string | undefined }
  | { kind: 'rejected', code: E2eeErrorCode, error: Error }

interface Pending {
  frame: ClientFrame
  expect: ServerFrame['type']
  resolve: (frame: ServerFrame) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

const SENT_KEPT = 1000
const SEEN_KEPT = 10_000
const REFRESH_MARGIN_MS = 60_000

// A gateway is named by its WebSocket URL (ws(s)://…/v1/ws, used as given)
// or by the http(s):// address it is served at (DESIGN.md "Browser client"),
// perhaps under a path prefix behind a proxy. Its REST routes sit beside /v1/ws.

const SOCKET_PATH = '/v1/ws'

/**
 * The WebSocket URL of a gateway address: http://host:3001 → ws://host:3001/v1/ws,
 * https://example.com/chat → wss://example.com/chat/v1/ws. A ws(s) URL, or
 * anything that is not an http(s) URL, is returned as it is (a bad one fails
 * when the socket is opened, as `bad_request`).
 */
export function gatewaySocketUrl (gatewayUrl: string): string {
  let u: URL
  try {
    u = new URL(gatewayUrl)
  } catch {
    return gatewayUrl
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return gatewayUrl
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
  if (!u.pathname.endsWith(SOCKET_PATH)) u.pathname = u.pathname.replace(/\/+$/, '') + SOCKET_PATH
  u.hash = ''
  return u.toString()
}

/** The base of a gateway's REST routes: wss://example.com/chat/v1/ws → https://example.com/chat */
function httpBaseOf (gatewayUrl: string): string {
  const u = new URL(gatewaySocketUrl(gatewayUrl))
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:'
  u.pathname = u.pathname.endsWith(SOCKET_PATH) ? u.pathname.slice(0, -SOCKET_PATH.length) : ''
  u.search = ''
  return u.toString().replace(/\/$/, '')
}

function toClientError (err: unknown): unknown {
  if (isE2eeError(err)) return new ChatClientError(err.code, err.message, { cause: err })
  return err
}

export class ChatClient extends Emitter<ChatClientEvents> {
  readonly #api: AuthApi
  readonly #store: KeyStore
  readonly #names: ReturnType<typeof storeNames>
  readonly #urls: string[]
  readonly #options: ConnectOptions
  readonly #user: User
  #session: StoredSession
  #device!: DeviceKeyPair
  #accountKey!: string
  #directory!: Directory
  #receiver!: Receiver
  #WebSocket: WebSocketConstructor | undefined

  #socket: SocketLike | undefined
  #socketUrl = ''
  #ready = false
  #closed = false
  #everSynced = false
  #urlIndex = 0
  #attempt = 0
  #failuresInRow = 0
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #connectTimer: ReturnType<typeof setTimeout> | undefined
  #lastHeardAt = 0
  #refreshTimer: ReturnType<typeof setTimeout> | undefined
  #refreshing: Promise<void> | undefined
  #firstSync: { resolve: () => void, reject: (err: Error) => void } | undefined

  #nextRef = 0
  readonly #pending = new Map<string, Pending>()
  #inbox: Promise<void> = Promise.resolve()
  /** Messages that arrive between `ready` and `synced`: handed over in seq order once the sync is done. */
  #held: Message[] | undefined
  /** No cursor was stored: a device that did not exist when older messages were sealed. */
  #newDevice = false
  #cursor = 0
  readonly #seen = new Set<string>()
  readonly #opened = new Map<string, Promise<Opened>>()
  #sent: Record<string, SentText> = {}
  #counter = 0
  readonly #conversations = new Map<string, Conversation>()
  /** Who may write in each group at which seq, as far as this client knows. */
  readonly #rolls = new GroupRolls()
  /** The conversation list was asked for on this socket (a group unknown then is not asked about again). */
  #listed = false

  private constructor (api: AuthApi, store: KeyStore, user: User, session: StoredSession, options: ConnectOptions) {
    super()
    this.#api = api
    this.#store = store
    this.#user = user
    this.#session = session
    this.#names = storeNames(user.id)
    this.#options = options
    this.#urls = (Array.isArray(options.gatewayUrl) ? options.gatewayUrl : [options.gatewayUrl]).map(gatewaySocketUrl)
    if (this.#urls.length === 0) throw new TypeError('gatewayUrl: give at least one gateway')
    // Spread clients over the gateways from the start.
    this.#urlIndex = Math.floor(Math.random() * this.#urls.length)
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
    const session = sessionOf(tokens)
    await store.set(storeNames(tokens.user.id).session, session)
    return await ChatClient.#start(api, store, tokens.user, session, options)
  }

  /** Resumes the session kept in `keyStore` for `userId` (refreshing its tokens as needed). */
  static async resume (options: ConnectOptions & { userId: string, keyStore: KeyStore }): Promise<ChatClient> {
    const api = new AuthApi(options.authUrl)
    const stored = await options.keyStore.get(storeNames(options.userId).session) as StoredSession | undefined
    if (stored === undefined) throw new ChatClientError('not_signed_in', 'not signed in: log in first')
    let session = stored
    if (Date.now() > session.expiresAt - refreshMargin(session)) {
      try {
        session = sessionOf(await api.refresh(session.refreshToken))
      } catch (err) {
        if (isChatClientError(err, 'unauthorized')) {
          await options.keyStore.delete(storeNames(options.userId).session)
          throw new ChatClientError('session_ended', 'the session ended: log in again', { cause: err })
        }
        throw err
      }
      await options.keyStore.set(storeNames(options.userId).session, session)
    }
    const user = await api.me(session.accessToken)
    return await ChatClient.#start(api, options.keyStore, user, session, options)
  }

  static async #start (api: AuthApi, store: KeyStore, user: User, session: StoredSession, options: ConnectOptions): Promise<ChatClient> {
    const client = new ChatClient(api, store, user, session, options)
    try {
      await client.#init()
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
    return this.#device.deviceId
  }

  /** The highest seq this client has handled. */
  get cursor (): number {
    return this.#cursor
  }

  /** This user's account public key (base64url). */
  get accountKey (): string {
    return this.#accountKey
  }

  get connected (): boolean {
    return this.#ready
  }

  /** The gateway of the current (or last) socket. */
  get gatewayUrl (): string {
    return this.#socketUrl
  }

  // ------------------------------------------------------------------ keys

  async #init (): Promise<void> {
    this.#scheduleRefresh()
    const [account, device] = await this.#ensureKeys()
    this.#device = device
    this.#accountKey = account
    this.#directory = new Directory({
      fetch: async (userId) => await this.#authed(async (token) => await this.#api.keys(token, userId)).catch((err: unknown) => {
        if (isChatClientError(err, 'not_found')) throw new ChatClientError('no_keys', `user ${userId} has published no keys yet`)
        throw err
      }),
      store: this.#store,
      pinsName: this.#names.pins,
      self: { userId: this.userId, accountKey: account },
      maxAgeMs: Infinity,
      onKeyChanged: (change) => { this.emit('keyChanged', change) }
    })
    this.#receiver = createReceiver({
      userId: this.userId,
      device,
      lookupSender: async (userId) => await this.#directory.list(userId),
      trustedAccountKey: async (userId) => await this.#directory.trusted(userId)
    })
    const cursor = await this.#store.get(this.#names.cursor)
    this.#cursor = typeof cursor === 'number' ? cursor : 0
    this.#newDevice = typeof cursor !== 'number'
    const counter = await this.#store.get(this.#names.counter)
    this.#counter = typeof counter === 'number' ? counter : 0
    const sent = await this.#store.get(this.#names.sent)
    this.#sent = typeof sent === 'object' && sent !== null ? sent as Record<string, SentText> : {}
  }

  /**
   * Makes sure this device is in the user's published, signed device list,
   * and returns the account public key and the device keys. Keys are saved
   * before they are published, so a crash in between loses nothing.
   *
   * Replacing the published account key (newKeys) needs the account's
   * password, which auth-api checks so that a copied access token alone
   * cannot do it: login() has it (it passes its options through, password
   * included), resume() does not.
   */
  async #ensureKeys (): Promise<[string, DeviceKeyPair]> {
    const password = 'password' in this.#options && typeof this.#options.password === 'string' ? this.#options.password : undefined
    const storedAccount = await this.#store.get(this.#names.account)
    const storedDevice = await this.#store.get(this.#names.device)
    let account: AccountKeyPair | undefined = storedAccount === undefined ? undefined : await importAccountKey(storedAccount)
    let device: DeviceKeyPair | undefined = storedDevice === undefined ? undefined : await importDeviceKeys(storedDevice)

    let published: SignedDeviceList | undefined
    try {
      const raw = await this.#authed(async (token) => await this.#api.keys(token, this.userId))
      const verified = await verifySignedDeviceList(raw)
      // A list that does not verify is treated as none: ours replaces it.
      if (verified.ok && (raw as SignedDeviceList).deviceList.userId === this.userId) published = raw as SignedDeviceList
    } catch (err) {
      if (!isChatClientError(err, 'not_found')) throw err
    }

    if (this.#options.newKeys === true) {
      // Refused before the stored keys are overwritten, which would leave this device with neither.
      if (published !== undefined && password === undefined) {
        throw new ChatClientError('bad_request', 'replacing the account key needs the account\'s password: sign in with login({ newKeys: true }) instead of resume()')
      }
      account = await generateAccountKey()
      device = await generateDeviceKeys()
      await this.#saveKeys(account, device)
      return [await this.#publish(account, published, [await publicDevice(device)], password), device]
    }

    if (device !== undefined && published !== undefined) {
      const mine = await publicDevice(device)
      const listed = published.deviceList.devices.find((d) => d.deviceId === mine.deviceId)
      if (listed !== undefined && listed.signPublicKey === mine.signPublicKey && listed.boxPublicKey === mine.boxPublicKey &&
        (account === undefined || published.accountKey === await accountPublicKey(account))) {
        return [published.accountKey, device]
      }
    }
    if (account === undefined) {
      if (published !== undefined) {
        throw new ChatClientError('no_account_key', 'this account\'s keys are held by another device: sign in there, or start over with new keys (contacts will be warned)')
      }
      account = await generateAccountKey()
    } else if (published !== undefined && published.accountKey !== await accountPublicKey(account)) {
      throw new ChatClientError('no_account_key', 'this account\'s keys were replaced from another device: start over with new keys on this one')
    }
    device ??= await generateDeviceKeys()
    await this.#saveKeys(account, device)
    const mine = await publicDevice(device)
    const others = published?.deviceList.devices.filter((d) => d.deviceId !== mine.deviceId) ?? []
    return [await this.#publish(account, published, [...others, mine]), device]
  }

  async #saveKeys (account: AccountKeyPair, device: DeviceKeyPair): Promise<void> {
    await this.#store.set(this.#names.account, await exportAccountKey(account))
    await this.#store.set(this.#names.device, await exportDeviceKeys(device))
  }

  async #publish (account: AccountKeyPair, previous: SignedDeviceList | undefined, devices: SignedDeviceList['deviceList']['devices'], password?: string): Promise<string> {
    const signed = await signDeviceList(account.secretKey, nextDeviceList({
      userId: this.userId,
      ...(previous !== undefined && { previous: previous.deviceList }),
      devices
    }))
    // Only a list by another account key than the published one carries the password.
    const replacing = previous !== undefined && previous.accountKey !== signed.accountKey
    await this.#authed(async (token) => await this.#api.putKeys(token, signed, replacing ? password : undefined))
    return signed.accountKey
  }

  // ------------------------------------------------------------------ tokens

  async #accessToken (): Promise<string> {
    if (Date.now() > this.#session.expiresAt - refreshMargin(this.#session)) await this.#refresh()
    return this.#session.accessToken
  }

  /** Rotates the tokens once, however many callers ask at the same time. */
  async #refresh (): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        // Another process on the same store (a second terminal) may have
        // rotated the tokens already: presenting our spent refresh token
        // would look like theft and end the session, so take theirs.
        const stored = await this.#store.get(this.#names.session) as StoredSession | undefined
        if (stored !== undefined && stored.refreshToken !== this.#session.refreshToken && stored.expiresAt > this.#session.expiresAt &&
          Date.now() < stored.expiresAt - refreshMargin(stored)) {
          this.#session = stored
          this.#scheduleRefresh()
          this.#renewSocket()
          return
        }
        const tokens = await this.#api.refresh(this.#session.refreshToken)
        this.#session = sessionOf(tokens)
        await this.#store.set(this.#names.session, this.#session)
        this.#scheduleRefresh()
        this.#renewSocket()
      } catch (err) {
        if (isChatClientError(err, 'unauthorized')) {
          const ended = new ChatClientError('session_ended', 'the session ended: log in again', { cause: err })
          await this.#store.delete(this.#names.session)
          void this.#fail(ended)
          throw ended
        }
        throw err
      } finally {
        this.#refreshing = undefined
      }
    })()
    await this.#refreshing
  }

  #scheduleRefresh (): void {
    clearTimeout(this.#refreshTimer)
    if (this.#closed) return
    const due = Math.max(0, this.#session.expiresAt - refreshMargin(this.#session) - Date.now())
    this.#refreshTimer = setTimeout(() => {
      this.#refresh().catch((err: unknown) => {
        if (isChatClientError(err, 'session_ended')) return
        // auth-api unreachable: try again soon; the socket stays up meanwhile.
        this.emit('error', err)
        this.#refreshTimer = setTimeout(() => { this.#scheduleRefresh() }, 5_000)
      })
    }, due)
  }

  /**
   * The open socket lives on the token it was opened with, and the gateway
   * closes it (4401) soon after that token expires: hand it the new one.
   * A refused renewal needs nothing here: the close that follows reconnects
   * with a fresh token.
   */
  #renewSocket (): void {
    this.#sendRaw({ type: 'auth', token: this.#session.accessToken, ref: 'renew' })
  }

  /** A REST call with a fresh token, retried once after a refresh if the token was refused. */
  async #authed<T> (call: (token: string) => Promise<T>): Promise<T> {
    try {
      return await call(await this.#accessToken())
    } catch (err) {
      if (!isChatClientError(err, 'unauthorized')) throw err
      await this.#refresh()
      return await call(this.#session.accessToken)
    }
  }

  // ------------------------------------------------------------------ link

  /** Opens the socket and resolves after the first sync; rejects `unreachable` if no gateway answers. */
  async connect (): Promise<void> {
    if (this.#closed) throw new ChatClientError('closed', 'the client is closed')
    if (this.#everSynced) return
    this.#WebSocket ??= this.#options.WebSocket ?? await defaultWebSocket()
    const first = new Promise<void>((resolve, reject) => { this.#firstSync = { resolve, reject } })
    this.#open()
    await first
  }

  #open (): void {
    this.#reconnectTimer = undefined
    if (this.#closed) return
    const url = this.#urls[this.#urlIndex % this.#urls.length] as string
    this.#accessToken().then((token) => {
      if (this.#closed) return
      const WS = this.#WebSocket as WebSocketConstructor
      let ws: SocketLike
      try {
        ws = new WS(url)
      } catch (err) {
        this.#firstSync?.reject(new ChatClientError('bad_request', `bad gateway URL ${url}`, { cause: err }))
        this.#firstSync = undefined
        return
      }
      this.#socket = ws
      this.#socketUrl = url
      ws.onopen = () => { ws.send(JSON.stringify({ type: 'auth', token })) }
      ws.onmessage = (event) => {
        this.#lastHeardAt = Date.now()
        this.#onData(ws, event.data)
      }
      ws.onerror = () => { /* onclose follows and decides */ }
      ws.onclose = (event) => { this.#onClose(ws, event.code, event.reason) }
      // A gateway address that swallows packets never answers nor closes.
      const every = this.#options.heartbeatMs ?? 15_000
      clearTimeout(this.#connectTimer)
      this.#connectTimer = setTimeout(() => { if (ws === this.#socket && !this.#ready) this.#abandon(ws, 'no ready in time') }, 2 * every)
    }).catch((err: unknown) => {
      if (isChatClientError(err, 'session_ended')) return
      // No token (auth-api unreachable): as good as a gateway that did not answer.
      this.#failuresInRow++
      this.#retry(1006)
    })
  }

  #onData (ws: SocketLike, data: unknown): void {
    if (ws !== this.#socket || typeof data !== 'string') return
    let frame: ServerFrame
    try {
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return
    }
    if (frame.type === 'ready') {
      clearTimeout(this.#connectTimer)
      this.#ready = true
      this.#startHeartbeat(ws)
      // Membership may have changed while away (no `conversation` frame then): ask again when needed.
      this.#conversations.clear()
      this.#listed = false
      this.#attempt = 0
      this.#failuresInRow = 0
      this.emit('connected', { url: this.#socketUrl })
      // The gateway may send a live message before the older ones the sync
      // brings: hold them all until `synced`, then hand them over in order.
      this.#held = []
      this.#enqueue(async () => { this.#sendRaw({ type: 'sync', after: this.#cursor, ref: 'sync' }) })
      for (const p of this.#pending.values()) this.#sendRaw(p.frame)
      return
    }
    this.#onFrame(frame)
  }

  /**
   * A connection that died without a close (a laptop's sleep, a NAT that
   * forgot it) is noticed only by silence: ping when quiet, and give up on a
   * socket that stays silent (the gateway pongs every ping).
   */
  #startHeartbeat (ws: SocketLike): void {
    clearInterval(this.#heartbeat)
    this.#lastHeardAt = Date.now()
    const every = this.#options.heartbeatMs ?? 15_000
    this.#heartbeat = setInterval(() => {
      if (ws !== this.#socket) return
      const quiet = Date.now() - this.#lastHeardAt
      if (quiet > 2 * every) {
        this.#abandon(ws, 'no answer to pings')
      } else if (quiet >= every) {
        this.#sendRaw({ type: 'ping' })
      }
    }, every)
  }

  /** Lets go of a socket at once: its closing handshake would wait for a peer that is gone. */
  #abandon (ws: SocketLike, reason: string): void {
    ws.onclose = null
    ws.onmessage = null
    try {
      ws.close(4000, reason)
    } catch {
      // already closing
    }
    this.#onClose(ws, 1006, reason)
  }

  #onClose (ws: SocketLike, code: number, reason: string): void {
    if (ws !== this.#socket) return
    clearInterval(this.#heartbeat)
    clearTimeout(this.#connectTimer)
    this.#socket = undefined
    const wasReady = this.#ready
    this.#ready = false
    this.emit('disconnected', { url: this.#socketUrl, code, reason })
    if (this.#closed) return
    // 4401 (token refused) and 4403 (the user's sessions were revoked, maybe
    // only another device's): a refresh tells whether this session lives on.
    // If it does, the new token is newer than the revocation; if not, the
    // refresh ends the client with session_ended.
    if (code === CloseCode.unauthorized || code === CloseCode.forbidden) this.#session = { ...this.#session, expiresAt: 0 }
    if (!wasReady) this.#failuresInRow++
    this.#retry(code)
  }

  #retry (code: number): void {
    if (this.#closed || this.#reconnectTimer !== undefined) return
    this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length
    if (!this.#everSynced && this.#failuresInRow >= this.#urls.length) {
      const err = new ChatClientError('unreachable', `cannot reach a chat gateway (${this.#urls.join(', ')})`)
      this.#firstSync?.reject(err)
      this.#firstSync = undefined
      return
    }
    const min = this.#options.reconnect?.minDelayMs ?? 200
    const max = this.#options.reconnect?.maxDelayMs ?? 10_000
    // A gateway that is restarting (1012) asks to go elsewhere at once.
    const delay = code === CloseCode.restarting && this.#attempt === 0
      ? 0
      : Math.random() * Math.min(max, min * 2 ** this.#attempt)
    this.#attempt = Math.min(this.#attempt + 1, 30)
    this.#reconnectTimer = setTimeout(() => { this.#open() }, delay)
  }

  #sendRaw (frame: ClientFrame): void {
    const ws = this.#socket
    if (ws === undefined || !this.#ready || ws.readyState !== OPEN) return
    ws.send(JSON.stringify(frame))
  }

  /** Sends a request and waits for its answer (by ref), re-sent after a reconnect until `requestTimeoutMs`. */
  async #request<T extends ServerFrame> (frame: ClientFrame & { ref: string }, expect: T['type']): Promise<T> {
    if (this.#closed) throw new ChatClientError('closed', 'the client is closed')
    return await new Promise<T>((resolve, reject) => {
      const timeout = this.#options.requestTimeoutMs ?? 30_000
      const timer = setTimeout(() => {
        this.#pending.delete(frame.ref)
        reject(new ChatClientError('timeout', `no answer to ${frame.type} in ${timeout} ms`))
      }, timeout)
      this.#pending.set(frame.ref, { frame, expect, resolve: resolve as (f: ServerFrame) => void, reject, timer })
      this.#sendRaw(frame)
    })
  }

  #settle (ref: unknown, frame: ServerFrame): boolean {
    if (typeof ref !== 'string') return false
    const p = this.#pending.get(ref)
    if (p === undefined) return false
    this.#pending.delete(ref)
    clearTimeout(p.timer)
    if (frame.type === 'error') p.reject(new ChatClientError(frame.code, frame.message))
    else if (frame.type === p.expect) p.resolve(frame)
    else p.reject(new ChatClientError('server_error', `expected ${p.expect}, got ${frame.type}`))
    return true
  }

  #enqueue (job: () => Promise<void>): void {
    this.#inbox = this.#inbox.then(job).catch((err: unknown) => { this.emit('error', err) })
  }

  #onFrame (frame: ServerFrame): void {
    switch (frame.type) {
      case 'message':
        if (!isMessage(frame.message)) {
          // A gateway that breaks the contract: nothing to open, nor to order by.
          this.emit('error', new ChatClientError('server_error', 'the gateway sent a malformed message frame'))
          return
        }
        if (this.#held !== undefined) this.#held.push(frame.message)
        else this.#enqueue(async () => { await this.#handleMessage(frame.message) })
        return
      case 'synced': {
        const held = (this.#held ?? []).sort((a, b) => a.seq - b.seq)
        this.#held = undefined
        this.#enqueue(async () => {
          for (const message of held) await this.#handleMessage(message)
          this.#newDevice = false
          this.#everSynced = true
          this.emit('synced', { cursor: this.#cursor })
          this.#firstSync?.resolve()
          this.#firstSync = undefined
        })
        return
      }
      case 'receipt':
        this.emit('receipt', frame)
        return
      case 'typing':
        this.emit('typing', frame)
        return
      case 'conversation':
        this.#conversations.set(frame.conversation.id, frame.conversation)
        this.#rolls.learn(frame.conversation, frame.change)
        this.emit('conversation', frame.conversation)
        return
      case 'ack':
      case 'authed':
      case 'history':
      case 'conversations':
      case 'pong':
        this.#settle(frame.ref, frame)
        return
      case 'error':
        if (frame.ref === 'sync') {
          // Could not sync here: try another gateway.
          this.#socket?.close(1000, 'sync failed')
          return
        }
        if (!this.#settle(frame.ref, frame)) this.emit('error', new ChatClientError(frame.code, frame.message))
    }
  }

  // ------------------------------------------------------------------ inbox

  async #handleMessage (message: Message): Promise<void> {
    // Once per message: by id within this run; across runs the sync starts
    // after the stored cursor. (Not by seq alone: a conversation joined while
    // connected is caught up after newer messages of other conversations.)
    if (this.#seen.has(message.id)) return
    this.#remember(message.id)
    const opened = await this.#open1(message)
    this.#cursor = Math.max(this.#cursor, message.seq)
    await this.#store.set(this.#names.cursor, this.#cursor)
    if (opened.kind === 'text') {
      this.emit('text', { message, text: opened.text, senderId: message.senderId, deviceId: opened.deviceId, conversationId: message.conversationId })
    } else if (opened.kind === 'rejected' && !(this.#newDevice && opened.code === 'not_a_recipient')) {
      // (A new device's first sync brings messages sealed before it existed: not an attack.)
      this.emit('rejected', { message, code: opened.code, error: opened.error })
    }
  }

  #remember (id: string): void {
    this.#seen.add(id)
    if (this.#seen.size > SEEN_KEPT) {
      const oldest = this.#seen.values().next()
      if (oldest.done !== true) this.#seen.delete(oldest.value)
    }
  }

  /** Opens a message once; later asks (history, a repeat) get the same answer (a second open would be a replay). */
  async #open1 (message: Message): Promise<Opened> {
    let p = this.#opened.get(message.id)
    if (p === undefined) {
      p = this.#decrypt(message)
      this.#opened.set(message.id, p)
      if (this.#opened.size > SEEN_KEPT) {
        const oldest = this.#opened.keys().next()
        if (oldest.done !== true) this.#opened.delete(oldest.value)
      }
    }
    return await p
  }

  async #decrypt (message: Message): Promise<Opened> {
    const claimed = envelopeSender(message.body)
    if (message.senderId === this.userId && claimed?.deviceId === this.#device.deviceId) {
      // This device's own message: it is not among the recipients by design.
      return { kind: 'own', text: this.#sent[message.id]?.text }
    }
    const direct = directMembers(message.conversationId)
    if (direct !== undefined && !direct.includes(message.senderId)) {
      // Only its two members write in a direct conversation; the gateway
      // enforces it, and a compromised server component must not get past it.
      return rejected(new E2eeError('wrong_conversation', `${message.senderId} is not a member of ${message.conversationId}`))
    }
    if (direct === undefined && await this.#mayWrite(message) === false) {
      // The gateway and the writer refuse a non-member's message; one that
      // reached the live feed anyway is not shown as genuine.
      return rejected(new E2eeError('wrong_conversation', `${message.senderId} was not a member of ${message.conversationId} at seq ${message.seq}`))
    }
    const arrival = { conversationId: message.conversationId, messageId: message.id, senderId: message.senderId }
    try {
      return await this.#openOnce(message, arrival)
    } catch (err) {
      if (isE2eeError(err, 'unknown_device') && claimed !== undefined) {
        // The sender may have added a device since the list was cached.
        try {
          await this.#directory.list(claimed.userId, { fresh: true })
          return await this.#openOnce(message, arrival)
        } catch (again) {
          return rejected(again)
        }
      }
      return rejected(err)
    }
  }

  /** Whether the sender was a member of the group at the message's seq; undefined when this client cannot tell. */
  async #mayWrite (message: Message): Promise<boolean | undefined> {
    const verdict = this.#rolls.mayWrite(message.conversationId, message.senderId, message.seq)
    if (verdict !== undefined || this.#listed) return verdict
    try {
      await this.conversations()
    } catch {
      return undefined
    }
    return this.#rolls.mayWrite(message.conversationId, message.senderId, message.seq)
  }

  async #openOnce (message: Message, arrival: { conversationId: string, messageId: string, senderId: string }): Promise<Opened> {
    try {
      const opened = await this.#receiver.open(message.body, arrival)
      return { kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(opened.plaintext), deviceId: opened.sender.deviceId }
    } catch (err) {
      // The directory could not give the sender's keys: as good as an unknown device.
      if (isChatClientError(err)) throw Object.assign(new Error(err.message), { code: 'unknown_device' })
      throw err
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
    let lists: SignedDeviceList[]
    let body: Awaited<ReturnType<typeof sealEnvelope>>
    const id = crypto.randomUUID()
    try {
      const maxAgeMs = this.#options.deviceListMaxAgeMs ?? 0
      lists = await Promise.all([...new Set([this.userId, ...members])].map(async (u) => await this.#directory.list(u, { maxAgeMs })))
      for (const list of lists) {
        const pin = await this.#directory.trusted(list.deviceList.userId)
        if (pin !== undefined && pin !== list.accountKey) {
          throw new ChatClientError('account_key_changed', `the account key of user ${list.deviceList.userId} changed: compare safety numbers, then trust them`)
        }
      }
      this.#counter++
      await this.#store.set(this.#names.counter, this.#counter)
      body = await sealEnvelope({
        conversationId,
        messageId: id,
        counter: this.#counter,
        sender: { userId: this.userId, device: this.#device },
        recipients: lists,
        trustedAccountKey: async (u) => await this.#directory.trusted(u),
        plaintext: text
      })
    } catch (err) {
      throw toClientError(err)
    }
    await this.#keepSent(id, { conversationId, text, sentAt: new Date().toISOString() })
    this.#remember(id)
    const frame: ClientFrame & { ref: string } = 'to' in target
      ? { type: 'send', id, to: target.to, body, ref: id }
      : { type: 'send', id, conversationId, body, ref: id }
    const ack = await this.#request<Extract<ServerFrame, { type: 'ack' }>>(frame, 'ack')
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

  async #keepSent (id: string, entry: SentText): Promise<void> {
    this.#sent[id] = entry
    const ids = Object.keys(this.#sent)
    for (const old of ids.slice(0, Math.max(0, ids.length - SENT_KEPT))) delete this.#sent[old]
    await this.#store.set(this.#names.sent, this.#sent)
  }

  /** A page of a conversation's history, newest first, decrypted. */
  async history (conversationId: string, options: { before?: number, limit?: number } = {}): Promise<{ items: HistoryItem[], hasMore: boolean }> {
    const ref = `h${++this.#nextRef}`
    const reply = await this.#request<Extract<ServerFrame, { type: 'history' }>>({
      type: 'history', conversationId, ref, ...(options.before !== undefined && { before: options.before }), ...(options.limit !== undefined && { limit: options.limit })
    }, 'history')
    const items: HistoryItem[] = []
    for (const message of reply.items) {
      const opened = await this.#open1(message)
      const base = { message, senderId: message.senderId }
      if (opened.kind === 'rejected') items.push({ ...base, text: undefined, code: opened.code })
      else items.push({ ...base, text: opened.text })
    }
    return { items, hasMore: reply.hasMore }
  }

  /** The conversations this user is a member of. */
  async conversations (): Promise<Conversation[]> {
    const ref = `c${++this.#nextRef}`
    const reply = await this.#request<Extract<ServerFrame, { type: 'conversations' }>>({ type: 'conversations', ref }, 'conversations')
    this.#listed = true
    for (const c of reply.items) {
      this.#conversations.set(c.id, c)
      this.#rolls.learn(c)
    }
    return reply.items
  }

  /** Tells the other members that this user read (or got) everything up to `seq`. */
  receipt (conversationId: string, seq: number, kind: ReceiptKind = 'read'): void {
    this.#sendRaw({ type: 'receipt', conversationId, seq, kind })
  }

  /** Tells the other members that this user is typing (send it every few seconds while they type). */
  typing (conversationId: string): void {
    this.#sendRaw({ type: 'typing', conversationId })
  }

  /** The direct conversation's id with `userId`. */
  directConversationId (userId: string): string {
    return directConversationId(this.userId, userId)
  }

  // ------------------------------------------------------------------ users and keys

  async users (query: { q?: string, limit?: number, cursor?: string } = {}): Promise<UserList> {
    return await this.#authed(async (token) => await this.#api.users(token, query))
  }

  async getUser (id: string): Promise<User> {
    return await this.#authed(async (token) => await this.#api.user(token, id))
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
    const digits = await safetyNumber({ userId: this.userId, accountKey: this.#accountKey }, { userId, accountKey: list.accountKey })
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
    const body = await this.#groupCall<{ conversation: Conversation, seq: number }>('POST', '/v1/conversations', { title, members })
    this.#conversations.set(body.conversation.id, body.conversation)
    this.#rolls.learn(body.conversation, { type: 'created', seq: body.seq, actorId: this.userId })
    return body.conversation
  }

  /** Adds a member (the group's owner and admins); resolves with the group after the change. */
  async addMember (conversationId: string, userId: string): Promise<Conversation> {
    return await this.#groupChange('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/members`, { userId })
  }

  /** Removes a member (the owner and admins; anyone may remove themself); resolves with the group after the change. */
  async removeMember (conversationId: string, userId: string): Promise<Conversation> {
    const conversation = await this.#groupChange('DELETE', `/v1/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(userId)}`)
    // Left: it is no longer this user's conversation to send into.
    if (userId === this.userId) this.#conversations.delete(conversationId)
    return conversation
  }

  async leaveGroup (conversationId: string): Promise<void> {
    await this.removeMember(conversationId, this.userId)
  }

  /** Renames a group (its owner and admins). */
  async renameGroup (conversationId: string, title: string): Promise<Conversation> {
    return await this.#groupChange('PATCH', `/v1/conversations/${encodeURIComponent(conversationId)}`, { title })
  }

  /** A change whose reply is the group after it: kept, so the next send encrypts for its members. */
  async #groupChange (method: 'POST' | 'DELETE' | 'PATCH', path: string, body?: unknown): Promise<Conversation> {
    const reply = await this.#groupCall<{ conversation: Conversation }>(method, path, body)
    this.#conversations.set(reply.conversation.id, reply.conversation)
    return reply.conversation
  }

  async #groupCall<T> (method: 'POST' | 'DELETE' | 'PATCH', path: string, body?: unknown): Promise<T> {
    const base = httpBaseOf(this.#urls[this.#urlIndex % this.#urls.length] as string)
    try {
      return await this.#authed(async (token) => await httpJson<T>({ method, url: join(base, path), token, ...(body !== undefined && { body }) }))
    } catch (err) {
      // The gateway has no group routes yet (issue 5): say so, not "not found".
      if (isChatClientError(err, 'not_found') && err.message.startsWith('no route')) {
        throw new ChatClientError('not_implemented', 'groups are not available on this server yet')
      }
      throw err
    }
  }

  // ------------------------------------------------------------------ end

  /** Ends the session on the server (the refresh token is spent) and closes. */
  async logout (): Promise<void> {
    try {
      await this.#api.logout(this.#session.refreshToken)
    } finally {
      await this.#store.delete(this.#names.session)
      await this.close()
    }
  }

  /** Closes the socket and stops reconnecting and refreshing; keys and the cursor stay in the store. */
  async close (): Promise<void> {
    await this.#shutdown(undefined)
  }

  async #fail (err: ChatClientError): Promise<void> {
    await this.#shutdown(err)
  }

  async #shutdown (error: ChatClientError | undefined): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#reconnectTimer)
    clearTimeout(this.#refreshTimer)
    clearInterval(this.#heartbeat)
    clearTimeout(this.#connectTimer)
    const reason = error ?? new ChatClientError('closed', 'the client is closed')
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer)
      p.reject(reason)
    }
    this.#pending.clear()
    this.#firstSync?.reject(reason)
    this.#firstSync = undefined
    const ws = this.#socket
    this.#socket = undefined
    this.#ready = false
    if (ws !== undefined) {
      await new Promise<void>((resolve) => {
        // The closing handshake needs the server; one that vanished gets a second.
        const timer = setTimeout(resolve, 1_000)
        ws.onclose = () => {
          clearTimeout(timer)
          resolve()
        }
        ws.close(1000, 'bye')
      })
    }
    await this.#inbox
    this.emit('closed', error === undefined ? {} : { error })
    this.removeAllListeners()
  }
}

function sessionOf (tokens: TokenResponse): StoredSession {
  const lifetimeMs = tokens.expiresIn * 1000
  return {
    userId: tokens.user.id,
    username: tokens.user.username,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + lifetimeMs,
    lifetimeMs
  }
}

/** Refresh a minute before expiry, or at 80 % of a short lifetime. */
function refreshMargin (session: StoredSession): number {
  return Math.min(REFRESH_MARGIN_MS, session.lifetimeMs / 5)
}

function isMessage (m: unknown): m is Message {
  if (typeof m !== 'object' || m === null) return false
  const x = m as Record<string, unknown>
  return typeof x.id === 'string' && typeof x.conversationId === 'string' && typeof x.senderId === 'string' &&
    typeof x.sentAt === 'string' && Number.isSafeInteger(x.seq) && typeof x.body === 'object' && x.body !== null
}

function rejected (err: unknown): Opened {
  const code = (err as { code?: unknown }).code
  const error = err instanceof Error ? err : new Error(String(err))
  return { kind: 'rejected', code: isE2eeError(err) ? err.code : code === 'unknown_device' ? 'unknown_device' : 'bad_envelope', error }
}
