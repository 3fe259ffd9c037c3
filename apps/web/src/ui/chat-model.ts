import { isChatClientError, type ChatClient, type HistoryItem, type KeyChange, type RejectedEvent, type TextEvent } from '@metadome/client'
import { directMembers, type Conversation, type User } from '@metadome/contracts'
import { describe } from './describe.js'
import { Observable } from './observable.js'

// What the screens show, kept up to date from the SDK's events: the
// conversations with their messages, unread counts, typing and receipts, the
// connection's state, and contacts whose key changed. The screens read it
// and call its actions; it calls the SDK. One instance per signed-in client.

export interface ChatMessage {
  /** The message id; a local one while it is being sent. */
  key: string
  /** 0 until the server stored it. */
  seq: number
  senderId: string
  sentAt: string
  /** Undefined when it could not be opened (see note). */
  text: string | undefined
  note?: string
  status: 'sending' | 'sent' | 'failed'
  error?: string
}

export interface ConversationView {
  id: string
  kind: 'direct' | 'group'
  title: string | undefined
  members: string[]
  roles: Record<string, string>
  lastSeq: number
  createdAt: string
  messages: ChatMessage[]
  /** History was asked for once. */
  loaded: boolean
  hasMore: boolean
  loadingOlder: boolean
  unread: number
  /** The newest message known, for the list. */
  last?: { sentAt: string, text: string, senderId: string }
  /** Who is typing, until when (ms). */
  typing: Map<string, number>
  /** Each member's highest seq delivered and read. */
  delivered: Record<string, number>
  read: Record<string, number>
  /** This user is no longer a member. */
  left: boolean
}

export type Connection = 'up' | 'down' | 'back'

const HISTORY_PAGE = 30
const TYPING_SHOWN_MS = 5_000
const TYPING_SENT_EVERY_MS = 3_000
const BACK_SHOWN_MS = 5_000
const PREVIEWS = 10
const RECEIPT_BATCH_MS = 150

export class ChatModel extends Observable {
  readonly client: ChatClient
  readonly conversations = new Map<string, ConversationView>()
  readonly users = new Map<string, User>()
  connection: Connection = 'up'
  keyChanges: KeyChange[] = []
  openId: string | undefined
  /** Something that failed outside any one screen (loading the list), as a sentence. */
  problem: string | undefined
  readonly #asked = new Set<string>()
  readonly #offs: Array<() => void> = []
  #lastTypingSent = 0
  readonly #receipts = new Map<string, number>()
  #receiptTimer: ReturnType<typeof setTimeout> | undefined
  #backTimer: ReturnType<typeof setTimeout> | undefined

  constructor (client: ChatClient) {
    super()
    this.client = client
    this.users.set(client.userId, client.user)
    this.#offs.push(
      client.on('text', (e) => { this.#onText(e) }),
      client.on('rejected', (e) => { this.#onRejected(e) }),
      client.on('receipt', (e) => {
        const c = this.conversations.get(e.conversationId)
        if (c === undefined || e.userId === client.userId) return
        const marks = e.kind === 'read' ? c.read : c.delivered
        marks[e.userId] = Math.max(marks[e.userId] ?? 0, e.seq)
        if (e.kind === 'read') c.delivered[e.userId] = Math.max(c.delivered[e.userId] ?? 0, e.seq)
        this.changed()
      }),
      client.on('typing', (e) => {
        const c = this.conversations.get(e.conversationId)
        if (c === undefined || e.userId === client.userId) return
        c.typing.set(e.userId, Date.now() + TYPING_SHOWN_MS)
        void this.#name(e.userId)
        setTimeout(() => { this.changed() }, TYPING_SHOWN_MS + 50)
        this.changed()
      }),
      client.on('conversation', (conversation) => { this.#learn(conversation) }),
      client.on('keyChanged', (change) => {
        this.keyChanges = [...this.keyChanges.filter((k) => k.userId !== change.userId), change]
        void this.#name(change.userId)
        this.changed()
      }),
      client.on('disconnected', () => {
        clearTimeout(this.#backTimer)
        this.connection = 'down'
        this.changed()
      }),
      client.on('connected', () => {
        if (this.connection !== 'down') return
        this.connection = 'back'
        this.#backTimer = setTimeout(() => { this.connection = 'up'; this.changed() }, BACK_SHOWN_MS)
        this.changed()
      })
    )
  }

  get me (): string {
    return this.client.userId
  }

  /** Loads the conversation list, the names in it and the newest message of the first few. */
  async start (): Promise<void> {
    const list = await this.client.conversations()
    for (const c of list) this.#learn(c, c.unread)
    await this.#names(list.flatMap((c) => c.members))
    for (const c of this.sorted().slice(0, PREVIEWS)) {
      if (c.lastSeq === 0 || c.last !== undefined) continue
      try {
        const page = await this.client.history(c.id, { limit: 1 })
        const item = page.items[0]
        if (item !== undefined && c.last === undefined) c.last = { sentAt: item.message.sentAt, text: textOf(item), senderId: item.senderId }
        this.changed()
      } catch {
        // Only a preview: the conversation opens all the same.
      }
    }
  }

  report (err: unknown): void {
    this.problem = describe(err)
    this.changed()
  }

  dismissProblem (): void {
    this.problem = undefined
    this.changed()
  }

  stop (): void {
    for (const off of this.#offs.splice(0)) off()
    clearTimeout(this.#backTimer)
    clearTimeout(this.#receiptTimer)
  }

  /** Newest activity first (the CHAT seq is one order over all conversations), then newest created. */
  sorted (): ConversationView[] {
    return [...this.conversations.values()].filter((c) => !c.left)
      .sort((a, b) => b.lastSeq - a.lastSeq || Date.parse(b.createdAt) - Date.parse(a.createdAt))
  }

  nameOf (userId: string): string {
    if (userId === this.me) return 'You'
    const u = this.users.get(userId)
    if (u === undefined) {
      void this.#name(userId)
      return 'someone'
    }
    return u.displayName !== undefined && u.displayName !== '' && u.displayName !== u.username ? `${u.displayName} (@${u.username})` : u.username
  }

  /** The list's and the header's name: the group's title, or the other person. */
  titleOf (c: ConversationView): string {
    if (c.kind === 'group') return c.title ?? 'Untitled group'
    return this.nameOf(this.peerOf(c))
  }

  peerOf (c: ConversationView): string {
    return c.members.find((m) => m !== this.me) ?? this.me
  }

  typingIn (c: ConversationView): string[] {
    const now = Date.now()
    return [...c.typing].filter(([, until]) => until > now).map(([userId]) => this.nameOf(userId))
  }

  // ------------------------------------------------------------ opening

  async open (conversationId: string): Promise<void> {
    this.openId = conversationId
    const c = this.conversations.get(conversationId)
    this.changed()
    if (c === undefined) return
    if (!c.loaded) await this.#loadPage(c)
    this.markRead(c)
  }

  /** The direct conversation with `user`, made here until its first message. */
  async openDirect (user: User): Promise<void> {
    this.users.set(user.id, user)
    const id = this.client.directConversationId(user.id)
    if (!this.conversations.has(id)) {
      this.conversations.set(id, blank(id, 'direct', [this.me, user.id].sort(), new Date().toISOString()))
    }
    await this.open(id)
  }

  close (): void {
    this.openId = undefined
    this.changed()
  }

  async loadOlder (c: ConversationView): Promise<void> {
    if (c.loadingOlder || !c.hasMore) return
    await this.#loadPage(c)
  }

  async #loadPage (c: ConversationView): Promise<void> {
    c.loadingOlder = true
    this.changed()
    try {
      const oldest = c.messages.find((m) => m.seq > 0)?.seq
      const page = await this.client.history(c.id, { limit: HISTORY_PAGE, ...(oldest !== undefined && { before: oldest }) })
      for (const item of page.items) this.#add(c, fromHistory(item))
      c.hasMore = page.hasMore
      c.loaded = true
      await this.#names(page.items.map((i) => i.senderId))
    } catch (err) {
      // A direct conversation nobody wrote in yet does not exist on the server.
      if (isChatClientError(err, 'not_found') || isChatClientError(err, 'forbidden')) {
        c.loaded = true
        c.hasMore = false
      } else {
        // Offline, or timed out: said in the banner; scrolling up again retries.
        this.report(err)
      }
    } finally {
      c.loadingOlder = false
      this.changed()
    }
  }

  /** Tells the others this user read everything here (when the page is visible). */
  markRead (c: ConversationView): void {
    const newest = c.messages.reduce((max, m) => m.senderId !== this.me && m.seq > max ? m.seq : max, 0)
    c.unread = 0
    if (newest > 0) this.#receipt(c.id, newest, 'read')
    this.changed()
  }

  // ------------------------------------------------------------ sending

  async send (c: ConversationView, text: string): Promise<void> {
    const key = `local-${crypto.randomUUID()}`
    const pending: ChatMessage = { key, seq: 0, senderId: this.me, sentAt: new Date().toISOString(), text, status: 'sending' }
    c.messages = [...c.messages, pending]
    this.#lastTypingSent = 0
    this.changed()
    try {
      const target = c.kind === 'direct' ? { to: this.peerOf(c) } : { conversationId: c.id }
      const ack = await this.client.sendText(target, text)
      c.messages = c.messages.filter((m) => m.key !== key)
      this.#add(c, { ...pending, key: ack.id, seq: ack.seq, sentAt: ack.sentAt, status: 'sent' })
      c.lastSeq = Math.max(c.lastSeq, ack.seq)
      c.last = { sentAt: ack.sentAt, text, senderId: this.me }
    } catch (err) {
      pending.status = 'failed'
      pending.error = describe(err)
      c.messages = [...c.messages]
    }
    this.changed()
  }

  /**
   * A message that failed, sent again. sendText picks a new id each time, so
   * if the first one was stored after all (only its answer lost), the others
   * see it twice: the person chose to send again.
   */
  async resend (c: ConversationView, m: ChatMessage): Promise<void> {
    if (m.status !== 'failed' || m.text === undefined) return
    c.messages = c.messages.filter((x) => x.key !== m.key)
    await this.send(c, m.text)
  }

  /** Called on every keystroke in the message field; the others hear it every few seconds. */
  typing (c: ConversationView): void {
    if (Date.now() - this.#lastTypingSent < TYPING_SENT_EVERY_MS || !this.client.connected) return
    this.#lastTypingSent = Date.now()
    this.client.typing(c.id)
  }

  // ------------------------------------------------------------ groups

  /** `usernames`: the members to add, by username. Resolves with the new group's id. */
  async createGroup (title: string, usernames: string[]): Promise<string> {
    const members: string[] = []
    for (const name of usernames) {
      const user = await this.client.findUser(name)
      this.users.set(user.id, user)
      members.push(user.id)
    }
    const group = await this.client.createGroup(title, members)
    this.#learn(group)
    return group.id
  }

  async rename (c: ConversationView, title: string): Promise<void> {
    this.#learn(await this.client.renameGroup(c.id, title))
  }

  async addMember (c: ConversationView, username: string): Promise<void> {
    const user = await this.client.findUser(username)
    this.users.set(user.id, user)
    this.#learn(await this.client.addMember(c.id, user.id))
  }

  async removeMember (c: ConversationView, userId: string): Promise<void> {
    if (userId === this.me) {
      await this.client.leaveGroup(c.id)
      c.left = true
      if (this.openId === c.id) this.openId = undefined
      this.changed()
      return
    }
    this.#learn(await this.client.removeMember(c.id, userId))
  }

  // ------------------------------------------------------------ keys

  async trust (userId: string): Promise<void> {
    await this.client.trust(userId)
    this.keyChanges = this.keyChanges.filter((k) => k.userId !== userId)
    this.changed()
  }

  // ------------------------------------------------------------ events

  #onText (e: TextEvent): void {
    const c = this.conversations.get(e.conversationId) ?? this.#unknown(e.conversationId, e.message.sentAt)
    const fresh = this.#add(c, { key: e.message.id, seq: e.message.seq, senderId: e.senderId, sentAt: e.message.sentAt, text: e.text, status: 'sent' })
    c.lastSeq = Math.max(c.lastSeq, e.message.seq)
    c.last = { sentAt: e.message.sentAt, text: e.text, senderId: e.senderId }
    c.typing.delete(e.senderId)
    if (fresh && e.senderId !== this.me) {
      const seen = this.openId === c.id && document.visibilityState === 'visible'
      this.#receipt(c.id, e.message.seq, seen ? 'read' : 'delivered')
      if (!seen) c.unread += 1
    }
    void this.#name(e.senderId)
    this.changed()
  }

  /**
   * Receipts say "up to seq", so one per conversation and kind is enough: a
   * sync after a reconnect may hand over hundreds of messages at once, and a
   * receipt for each would run into the gateway's frame limit.
   */
  #receipt (conversationId: string, seq: number, kind: 'read' | 'delivered'): void {
    const key = `${kind} ${conversationId}`
    this.#receipts.set(key, Math.max(this.#receipts.get(key) ?? 0, seq))
    this.#receiptTimer ??= setTimeout(() => {
      this.#receiptTimer = undefined
      for (const [k, max] of this.#receipts) {
        const [what, id] = k.split(' ') as ['read' | 'delivered', string]
        if (this.client.connected) this.client.receipt(id, max, what)
      }
      this.#receipts.clear()
    }, RECEIPT_BATCH_MS)
  }

  #onRejected (e: RejectedEvent): void {
    const c = this.conversations.get(e.message.conversationId) ?? this.#unknown(e.message.conversationId, e.message.sentAt)
    this.#add(c, { key: e.message.id, seq: e.message.seq, senderId: e.message.senderId, sentAt: e.message.sentAt, text: undefined, note: rejectedNote(e.code), status: 'sent' })
    this.changed()
  }

  /** A message in a conversation the list did not have yet: ask for the list again to learn what it is. */
  #unknown (id: string, sentAt: string): ConversationView {
    const direct = directMembers(id)
    const c = blank(id, direct === undefined ? 'group' : 'direct', direct ?? [this.me], sentAt)
    this.conversations.set(id, c)
    void this.client.conversations().then((list) => {
      for (const x of list) this.#learn(x)
      return this.#names(list.flatMap((x) => x.members))
    }).catch(() => undefined)
    return c
  }

  #learn (conversation: Conversation, unread?: number): void {
    let c = this.conversations.get(conversation.id)
    if (c === undefined) {
      c = blank(conversation.id, conversation.kind, conversation.members, conversation.createdAt)
      this.conversations.set(conversation.id, c)
    }
    c.kind = conversation.kind
    c.title = conversation.title
    c.members = conversation.members
    c.roles = conversation.roles ?? {}
    c.createdAt = conversation.createdAt
    c.lastSeq = Math.max(c.lastSeq, conversation.lastSeq)
    c.left = !conversation.members.includes(this.me)
    if (unread !== undefined) c.unread = unread
    for (const [userId, seq] of Object.entries(conversation.reads ?? {})) {
      c.read[userId] = Math.max(c.read[userId] ?? 0, seq)
      c.delivered[userId] = Math.max(c.delivered[userId] ?? 0, seq)
    }
    void this.#names(conversation.members)
    this.changed()
  }

  /** Adds a message unless it is there already (by id); false if it was. Keeps seq order, unsent ones last. */
  #add (c: ConversationView, m: ChatMessage): boolean {
    if (c.messages.some((x) => x.key === m.key)) return false
    c.messages = [...c.messages, m].sort((a, b) => (a.seq === 0 ? Infinity : a.seq) - (b.seq === 0 ? Infinity : b.seq))
    return true
  }

  async #names (ids: string[]): Promise<void> {
    await Promise.all([...new Set(ids)].map(async (id) => { await this.#name(id) }))
  }

  async #name (id: string): Promise<void> {
    if (this.users.has(id) || this.#asked.has(id)) return
    this.#asked.add(id)
    try {
      this.users.set(id, await this.client.getUser(id))
      this.changed()
    } catch {
      // A deleted user: shown as "someone".
    }
  }
}

function blank (id: string, kind: 'direct' | 'group', members: string[], createdAt: string): ConversationView {
  return {
    id, kind, title: undefined, members, roles: {}, lastSeq: 0, createdAt, messages: [], loaded: false, hasMore: true,
    loadingOlder: false, unread: 0, typing: new Map(), delivered: {}, read: {}, left: false
  }
}

function fromHistory (item: HistoryItem): ChatMessage {
  const m = item.message
  const base = { key: m.id, seq: m.seq, senderId: item.senderId, sentAt: m.sentAt, status: 'sent' as const }
  if (item.text !== undefined) return { ...base, text: item.text }
  if (item.code === undefined) return { ...base, text: undefined, note: 'Sent from this account before this device kept a copy.' }
  return { ...base, text: undefined, note: rejectedNote(item.code) }
}

function textOf (item: HistoryItem): string {
  return item.text ?? '(encrypted message)'
}

function rejectedNote (code: string): string {
  if (code === 'not_a_recipient') return 'Sent before this device was signed in: it cannot be read here.'
  if (code === 'account_key_changed') return 'Not shown: the sender\'s security key changed. Compare safety numbers first.'
  return `Not shown: this message failed a security check (${code}).`
}
