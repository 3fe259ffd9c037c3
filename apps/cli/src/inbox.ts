import type { ChatClient } from '@metadome/client'
import type { Conversation } from '@metadome/contracts'
import { printable } from './printable.js'
import { usernames } from './usernames.js'

// `metadome conversations`: the user's conversations, newest activity first,
// one line each: the name to `chat` it by, what it is, the unread count
// (others' messages after this user's read cursor) and, for a group, its id.
//
//   Book Club   group, 3 members   1 unread   6f1c0c2e-…
//   bob         direct             2 unread

/** Newest activity first: the CHAT seq is one order across conversations; never-used ones by creation. */
export function byActivity (a: Conversation, b: Conversation): number {
  return b.lastSeq - a.lastSeq || Date.parse(b.createdAt) - Date.parse(a.createdAt)
}

/** The direct conversation's other member (the user themself in a conversation with themself). */
export function peerOf (c: Conversation, me: string): string {
  return c.members.find((m) => m !== me) ?? me
}

export function inboxLines (conversations: Conversation[], me: string, names: ReadonlyMap<string, string>): string[] {
  if (conversations.length === 0) return ['no conversations yet']
  const rows = [...conversations].sort(byActivity).map((c) => {
    const peer = peerOf(c, me)
    const name = c.kind === 'group'
      ? printable(c.title ?? '(untitled group)')
      : peer === me ? 'me' : names.get(peer) ?? peer
    const what = c.kind === 'group' ? `group, ${c.members.length} member${c.members.length === 1 ? '' : 's'}` : 'direct'
    const unread = c.unread !== undefined && c.unread > 0 ? `${c.unread} unread` : ''
    return [name, what, unread, c.kind === 'group' ? c.id : '']
  })
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('   ').trimEnd())
}

export async function inbox (client: ChatClient): Promise<string[]> {
  const list = await client.conversations()
  const peers = list.filter((c) => c.kind === 'direct').map((c) => peerOf(c, client.userId))
  return inboxLines(list, client.userId, await usernames(client, peers))
}
