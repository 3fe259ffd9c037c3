import type { Conversation, Message, ReceiptEventFrame, TypingEventFrame } from '@metadome/contracts'
import type { E2eeErrorCode } from '@metadome/e2ee'
import type { KeyChange } from './directory.js'
import type { ChatClientError } from './errors.js'
import type { RejectedEvent, TextEvent } from './inbox.js'
import type { KeyStore } from './key-store.js'
import type { WebSocketConstructor } from './websocket.js'

// What ChatClient takes and emits: its public option and event types.

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
  /** Connect to a gateway and sync before resolving (default true). */
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
