import { directMembers, type Message } from '@metadome/contracts'
import { createReceiver, E2eeError, envelopeSender, isE2eeError, type DeviceKeyPair, type E2eeErrorCode, type Receiver } from '@metadome/e2ee'
import type { ConversationBook } from './conversation-book.js'
import type { Directory } from './directory.js'
import { ChatClientError, isChatClientError } from './errors.js'
import type { KeyStore } from './key-store.js'

// What arrives, handed to the user once each and in order. Messages are
// handled one after another in one queue, so `text` events come in seq
// order; live messages that arrive between a socket's `ready` and its
// `synced` are held and handed over with the sync's, sorted. A message is
// handed over once: by id within a run, and across runs by the cursor the
// sync starts after.
//
// Decrypting is DESIGN.md "The receiver": what the server says of a message
// is checked against what the client knows (the two members of a direct
// conversation, who could write in a group when), then the envelope is
// opened, with the sender's list fetched again if their device is new.
// Anything that fails is `rejected`, never a `text`. A message is decrypted
// once per id (a second open would be a replay): history and a repeat get the
// first answer.

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

export type Decrypted =
  | { kind: 'text', text: string, deviceId: string }
  /** Sent from this device: the text kept when it was sent, if it still is. */
  | { kind: 'own', text: string | undefined }
  | { kind: 'rejected', code: E2eeErrorCode, error: Error }

export interface InboxOptions {
  userId: string
  device: DeviceKeyPair
  directory: Directory
  conversations: ConversationBook
  store: KeyStore
  cursorName: string
  /** Asks the gateway for the conversation list (for a group this client knows nothing of yet). */
  listConversations: () => Promise<unknown>
  /** The text of a message this device sent. */
  sentText: (messageId: string) => string | undefined
  /** Sends `sync` from this cursor. */
  sync: (after: number) => void
  onText: (event: TextEvent) => void
  onRejected: (event: RejectedEvent) => void
  onSynced: (cursor: number) => void
  onError: (err: unknown) => void
}

const SEEN_KEPT = 10_000

/** The sender's keys could not be had (the directory failed): as good as an unknown device. */
class SenderKeysUnavailable extends Error {
  readonly code = 'unknown_device'
}

export class Inbox {
  readonly #o: InboxOptions
  readonly #receiver: Receiver
  #queue: Promise<void> = Promise.resolve()
  /** Messages that arrive between `ready` and `synced`: handed over in seq order once the sync is done. */
  #held: Message[] | undefined
  /** No cursor was stored: a device that did not exist when older messages were sealed. */
  #newDevice = false
  #cursor = 0
  readonly #seen = new Set<string>()
  readonly #decrypted = new Map<string, Promise<Decrypted>>()

  constructor (options: InboxOptions) {
    this.#o = options
    const { directory } = options
    this.#receiver = createReceiver({
      userId: options.userId,
      device: options.device,
      lookupSender: async (userId) => await directory.list(userId),
      trustedAccountKey: async (userId) => await directory.trusted(userId)
    })
  }

  /** The highest seq handled. */
  get cursor (): number {
    return this.#cursor
  }

  /** Reads the cursor from the store. */
  async load (): Promise<void> {
    const cursor = await this.#o.store.get(this.#o.cursorName)
    this.#cursor = typeof cursor === 'number' ? cursor : 0
    this.#newDevice = typeof cursor !== 'number'
  }

  /** A socket is ready: hold live messages, and ask for what was missed once the queue is through. */
  resync (): void {
    // The gateway may send a live message before the older ones the sync
    // brings: hold them all until `synced`, then hand them over in order.
    this.#held = []
    this.#enqueue(async () => { this.#o.sync(this.#cursor) })
  }

  /** A `message` frame. */
  receive (message: Message): void {
    if (!isMessage(message)) {
      // A gateway that breaks the contract: nothing to open, nor to order by.
      this.#o.onError(new ChatClientError('server_error', 'the gateway sent a malformed message frame'))
      return
    }
    if (this.#held !== undefined) this.#held.push(message)
    else this.#enqueue(async () => { await this.#deliver(message) })
  }

  /** The `synced` frame: the held messages go out, and then `onSynced`. */
  synced (): void {
    const held = (this.#held ?? []).sort((a, b) => a.seq - b.seq)
    this.#held = undefined
    this.#enqueue(async () => {
      for (const message of held) await this.#deliver(message)
      this.#newDevice = false
      this.#o.onSynced(this.#cursor)
    })
  }

  /** Not to be handed over when it comes by (a message this device is sending). */
  markSeen (messageId: string): void {
    this.#seen.add(messageId)
    if (this.#seen.size > SEEN_KEPT) {
      const oldest = this.#seen.values().next()
      if (oldest.done !== true) this.#seen.delete(oldest.value)
    }
  }

  /** What a message says, worked out once per message id. */
  async decrypt (message: Message): Promise<Decrypted> {
    let p = this.#decrypted.get(message.id)
    if (p === undefined) {
      p = this.#unseal(message)
      this.#decrypted.set(message.id, p)
      if (this.#decrypted.size > SEEN_KEPT) {
        const oldest = this.#decrypted.keys().next()
        if (oldest.done !== true) this.#decrypted.delete(oldest.value)
      }
    }
    return await p
  }

  /** Resolves once everything queued was handled. */
  async idle (): Promise<void> {
    await this.#queue
  }

  #enqueue (job: () => Promise<void>): void {
    this.#queue = this.#queue.then(job).catch((err: unknown) => { this.#o.onError(err) })
  }

  async #deliver (message: Message): Promise<void> {
    // Once per message: by id within this run; across runs the sync starts
    // after the stored cursor. (Not by seq alone: a conversation joined while
    // connected is caught up after newer messages of other conversations.)
    if (this.#seen.has(message.id)) return
    this.markSeen(message.id)
    const decrypted = await this.decrypt(message)
    this.#cursor = Math.max(this.#cursor, message.seq)
    await this.#o.store.set(this.#o.cursorName, this.#cursor)
    if (decrypted.kind === 'text') {
      this.#o.onText({ message, text: decrypted.text, senderId: message.senderId, deviceId: decrypted.deviceId, conversationId: message.conversationId })
    } else if (decrypted.kind === 'rejected' && !(this.#newDevice && decrypted.code === 'not_a_recipient')) {
      // (A new device's first sync brings messages sealed before it existed: not an attack.)
      this.#o.onRejected({ message, code: decrypted.code, error: decrypted.error })
    }
  }

  /** Every check of a receiver, the envelope's own last. */
  async #unseal (message: Message): Promise<Decrypted> {
    const claimed = envelopeSender(message.body)
    if (message.senderId === this.#o.userId && claimed?.deviceId === this.#o.device.deviceId) {
      // This device's own message: it is not among the recipients by design.
      return { kind: 'own', text: this.#o.sentText(message.id) }
    }
    const direct = directMembers(message.conversationId)
    if (direct !== undefined && !direct.includes(message.senderId)) {
      // Only its two members write in a direct conversation; the gateway
      // enforces it, and a compromised server component must not get past it.
      return rejection(new E2eeError('wrong_conversation', `${message.senderId} is not a member of ${message.conversationId}`))
    }
    if (direct === undefined && await this.#mayWrite(message) === false) {
      // The gateway and the writer refuse a non-member's message; one that
      // reached the live feed anyway is not shown as genuine.
      return rejection(new E2eeError('wrong_conversation', `${message.senderId} was not a member of ${message.conversationId} at seq ${message.seq}`))
    }
    const arrival = { conversationId: message.conversationId, messageId: message.id, senderId: message.senderId }
    try {
      return await this.#openEnvelope(message, arrival)
    } catch (err) {
      if (isE2eeError(err, 'unknown_device') && claimed !== undefined) {
        // The sender may have added a device since the list was cached.
        try {
          await this.#o.directory.list(claimed.userId, { fresh: true })
          return await this.#openEnvelope(message, arrival)
        } catch (again) {
          return rejection(again)
        }
      }
      return rejection(err)
    }
  }

  /** Whether the sender was a member of the group at the message's seq; undefined when this client cannot tell. */
  async #mayWrite (message: Message): Promise<boolean | undefined> {
    const { conversations } = this.#o
    const verdict = conversations.mayWrite(message.conversationId, message.senderId, message.seq)
    if (verdict !== undefined || conversations.listed) return verdict
    try {
      await this.#o.listConversations()
    } catch {
      return undefined
    }
    return conversations.mayWrite(message.conversationId, message.senderId, message.seq)
  }

  /** One attempt at opening the envelope (crypto, the key chain, the replay check). */
  async #openEnvelope (message: Message, arrival: { conversationId: string, messageId: string, senderId: string }): Promise<Decrypted> {
    try {
      const opened = await this.#receiver.open(message.body, arrival)
      return { kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(opened.plaintext), deviceId: opened.sender.deviceId }
    } catch (err) {
      if (isChatClientError(err)) throw new SenderKeysUnavailable(err.message)
      throw err
    }
  }
}

function isMessage (m: unknown): m is Message {
  return typeof m === 'object' && m !== null &&
    'id' in m && typeof m.id === 'string' &&
    'conversationId' in m && typeof m.conversationId === 'string' &&
    'senderId' in m && typeof m.senderId === 'string' &&
    'sentAt' in m && typeof m.sentAt === 'string' &&
    'seq' in m && Number.isSafeInteger(m.seq) &&
    'body' in m && typeof m.body === 'object' && m.body !== null
}

function rejection (err: unknown): Decrypted {
  const error = err instanceof Error ? err : new Error(String(err))
  const code = isE2eeError(err) ? err.code : err instanceof SenderKeysUnavailable ? err.code : 'bad_envelope'
  return { kind: 'rejected', code, error }
}
