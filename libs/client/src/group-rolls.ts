import type { Conversation, ConversationChange } from '@metadome/contracts'

interface Roll {
  members: Set<string>
  /** Everything about the members up to this seq is known here; later changes arrive in order on the socket. */
  knownThrough: number
  /** Members, by the seq of the change that added them (only those seen added). */
  joined: Map<string, number>
  /** Former members, by a seq at or after which they were no longer members. */
  gone: Map<string, number>
}

/**
 * Who may write in each group, as far as this client knows: a message whose
 * sender was not a member at its seq is rejected, never shown (DESIGN.md
 * "Membership is checked where it is enforced"). The gateway and the writer
 * refuse such messages already; this is the last line, for a message that
 * reached the live feed anyway.
 *
 * The client learns members from conversation lists (the state as of some
 * point at or after the group's `lastSeq`) and from `conversation` frames
 * (each change, with its seq, in order). Where that leaves a seq in doubt
 * (a member who left while this client was away, between two lists), the
 * message is let through: it was stored, and so checked, by the writer.
 */
export class GroupRolls {
  readonly #rolls = new Map<string, Roll>()

  /** What a conversation list or a `conversation` frame says of a group now. */
  learn (conversation: Conversation, change?: ConversationChange): void {
    if (conversation.kind !== 'group') return
    const next = new Set(conversation.members)
    const at = change?.seq ?? conversation.lastSeq
    const roll = this.#rolls.get(conversation.id)
    if (roll === undefined) {
      const joined = new Map<string, number>()
      if (change?.type === 'created') for (const u of next) joined.set(u, change.seq)
      if (change?.type === 'member_added' && change.userId !== undefined) joined.set(change.userId, change.seq)
      this.#rolls.set(conversation.id, { members: next, knownThrough: at, joined, gone: new Map() })
      return
    }
    // An older state than what is known (a list fetched before a change arrived): nothing new.
    if (change === undefined && at < roll.knownThrough) return
    for (const u of roll.members) {
      // Gone by `at` at the latest (exactly at the change that removed them).
      if (!next.has(u)) roll.gone.set(u, at)
    }
    for (const u of next) {
      if (roll.members.has(u)) continue
      roll.gone.delete(u)
      if (change !== undefined) roll.joined.set(u, change.seq)
    }
    roll.members = next
    roll.knownThrough = Math.max(roll.knownThrough, at)
  }

  /**
   * Whether `senderId` may have written at `seq` in the group: false when
   * this client knows they were not a member then, undefined when it knows
   * nothing of the group.
   */
  mayWrite (conversationId: string, senderId: string, seq: number): boolean | undefined {
    const roll = this.#rolls.get(conversationId)
    if (roll === undefined) return undefined
    if (roll.members.has(senderId)) {
      const joined = roll.joined.get(senderId)
      return joined === undefined || seq > joined
    }
    const gone = roll.gone.get(senderId)
    if (gone !== undefined) return seq < gone
    // Never seen as a member: only what is older than this client's knowledge is in doubt.
    return seq <= roll.knownThrough
  }
}
