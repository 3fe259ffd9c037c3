import { sealEnvelope, type DeviceKeyPair, type Envelope } from '@metadome/e2ee'
import type { Directory } from './directory.js'
import { ChatClientError } from './errors.js'
import type { KeyStore } from './key-store.js'

// The sending half of DESIGN.md "A message": one envelope for every device of
// every member, this user's other devices included, sealed only to account
// keys this client trusts. Sealing is where the device's counter goes up
// (kept in the store, so it never repeats across runs), and where the text
// is kept: this device is not a recipient of its own envelope, so the inbox
// and history find its own texts here and nowhere else.

interface SentText {
  conversationId: string
  text: string
  sentAt: string
}

export interface TextSealerOptions {
  userId: string
  device: DeviceKeyPair
  directory: Directory
  store: KeyStore
  names: { counter: string, sent: string }
  /** How old a cached device list may be when a text is sealed. */
  deviceListMaxAgeMs: number
}

const SENT_KEPT = 1000

export class TextSealer {
  readonly #o: TextSealerOptions
  #counter = 0
  #sent: Record<string, SentText> = {}

  constructor (options: TextSealerOptions) {
    this.#o = options
  }

  /** Reads the counter and the sent texts from the store. */
  async load (): Promise<void> {
    const counter = await this.#o.store.get(this.#o.names.counter)
    this.#counter = typeof counter === 'number' ? counter : 0
    this.#sent = sentTextsOf(await this.#o.store.get(this.#o.names.sent))
  }

  /** Seals `text` as message `messageId` of the conversation for its members (and this user), and keeps it. */
  async seal (input: { conversationId: string, members: string[], messageId: string, text: string }): Promise<Envelope> {
    const { directory } = this.#o
    const maxAgeMs = this.#o.deviceListMaxAgeMs
    const lists = await Promise.all([...new Set([this.#o.userId, ...input.members])].map(async (u) => await directory.list(u, { maxAgeMs })))
    for (const list of lists) {
      const pin = await directory.trusted(list.deviceList.userId)
      if (pin !== undefined && pin !== list.accountKey) {
        throw new ChatClientError('account_key_changed', `the account key of user ${list.deviceList.userId} changed: compare safety numbers, then trust them`)
      }
    }
    this.#counter++
    await this.#o.store.set(this.#o.names.counter, this.#counter)
    const envelope = await sealEnvelope({
      conversationId: input.conversationId,
      messageId: input.messageId,
      counter: this.#counter,
      sender: { userId: this.#o.userId, device: this.#o.device },
      recipients: lists,
      trustedAccountKey: async (u) => await directory.trusted(u),
      plaintext: input.text
    })
    await this.#keep(input.messageId, { conversationId: input.conversationId, text: input.text, sentAt: new Date().toISOString() })
    return envelope
  }

  /** The text of a message this device sent (of the last SENT_KEPT). */
  sentText (messageId: string): string | undefined {
    return this.#sent[messageId]?.text
  }

  async #keep (id: string, entry: SentText): Promise<void> {
    this.#sent[id] = entry
    const ids = Object.keys(this.#sent)
    for (const old of ids.slice(0, Math.max(0, ids.length - SENT_KEPT))) delete this.#sent[old]
    await this.#o.store.set(this.#o.names.sent, this.#sent)
  }
}

function sentTextsOf (value: unknown): Record<string, SentText> {
  const sent: Record<string, SentText> = {}
  if (typeof value !== 'object' || value === null) return sent
  for (const [id, entry] of Object.entries(value)) if (isSentText(entry)) sent[id] = entry
  return sent
}

function isSentText (value: unknown): value is SentText {
  return typeof value === 'object' && value !== null &&
    'conversationId' in value && typeof value.conversationId === 'string' &&
    'text' in value && typeof value.text === 'string' &&
    'sentAt' in value && typeof value.sentAt === 'string'
}
