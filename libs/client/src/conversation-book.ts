import type { Conversation, ConversationChange } from '@metadome/contracts'
import { GroupRolls } from './group-rolls.js'

// What this client knows of its conversations, for two readers: sending
// seals for the members listed here, and the inbox asks who could write in a
// group at a message's seq (GroupRolls). Both are fed by the gateway: the
// conversation list, `conversation` frames (each group change with its seq,
// in order) and the replies to this client's own group changes.

export class ConversationBook {
  readonly #byId = new Map<string, Conversation>()
  /** Who may write in each group at which seq, as far as this client knows. */
  readonly #rolls = new GroupRolls()
  #listed = false

  get (conversationId: string): Conversation | undefined {
    return this.#byId.get(conversationId)
  }

  /** The conversation list was asked for on this socket (a group unknown then is not asked about again). */
  get listed (): boolean {
    return this.#listed
  }

  /** The gateway's conversation list: every conversation of this user, as of now. */
  learnList (items: Conversation[], complete = true): void {
    if (complete) this.#listed = true
    for (const c of items) this.learn(c)
  }

  /** A conversation and, for a group, the change that made it what it is (a `conversation` frame, or a group created here). */
  learn (conversation: Conversation, change?: ConversationChange): void {
    this.#byId.set(conversation.id, conversation)
    this.#rolls.learn(conversation, change)
  }

  /**
   * The group as a change made here left it: its members are sealed for from
   * now on; who could write when is learnt from the change's own
   * `conversation` frame, which carries its seq.
   */
  keep (conversation: Conversation): void {
    this.#byId.set(conversation.id, conversation)
  }

  /** Left: it is no longer this user's conversation to send into. */
  forget (conversationId: string): void {
    this.#byId.delete(conversationId)
  }

  /** A new socket: membership may have changed while away (no `conversation` frame then), so the members are asked for again when needed. */
  reconnected (): void {
    this.#byId.clear()
    this.#listed = false
  }

  /** See GroupRolls.mayWrite: false when the sender was not a member at `seq`, undefined when this client cannot tell. */
  mayWrite (conversationId: string, senderId: string, seq: number): boolean | undefined {
    return this.#rolls.mayWrite(conversationId, senderId, seq)
  }
}
