import { isChatClientError, type ChatClient } from '@metadome/client'
import { Username, type Conversation, type User } from '@metadome/contracts'
import { byActivity } from './inbox.js'
import { printable } from './printable.js'
import { usernames } from './usernames.js'

// What `metadome chat <name>` opens. <name> is read as:
//
//   a group id (UUID)   that group, if the user is in it
//   @username           that user, never a group
//   anything else       the user with that username and the user's groups
//                       whose whole title is <name> (any case, surrounding
//                       spaces ignored): exactly one of them, or an error
//                       listing them, each with the way to name it alone
//
// Both are looked for because a title is chosen by whoever made the group
// and a username by whoever registered it: picking one kind first would let
// a stranger's username, or a group someone added you to, take over a name
// you meant as the other.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// The contract's own rule (its schema carries the pattern, its type does not say so).
const USERNAME = new RegExp('pattern' in Username ? String(Username.pattern) : '')

export interface ChatTarget {
  kind: 'direct' | 'group'
  conversationId: string
  /** The other user's username, or the group's title. */
  label: string
  /** A direct chat's other user: texts go `to` them, which starts the conversation. */
  other?: User
  /** Everyone in it but this user. */
  members: string[]
  /** Usernames by user id, for the lines. */
  names: Map<string, string>
}

export type Candidate = { kind: 'user', user: User } | { kind: 'group', conversation: Conversation }

export function titleMatches (title: string | undefined, name: string): boolean {
  return title !== undefined && title.trim().toLowerCase() === name.trim().toLowerCase()
}

/** The user (if any) and the groups among `conversations` that `name` could mean, as `conversations` lists them. */
export function candidates (name: string, user: User | undefined, conversations: Conversation[]): Candidate[] {
  const groups = conversations.filter((c) => c.kind === 'group' && titleMatches(c.title, name)).sort(byActivity)
  return [
    ...(user === undefined ? [] : [{ kind: 'user' as const, user }]),
    ...groups.map((conversation) => ({ kind: 'group' as const, conversation }))
  ]
}

/** One line naming every candidate and how to pick it. */
export function ambiguous (name: string, found: Candidate[]): string {
  const members = (n: number): string => `${n} member${n === 1 ? '' : 's'}`
  const list = found.map((c) => c.kind === 'user'
    ? `the user ${c.user.username}`
    : `the group "${printable(c.conversation.title ?? '')}" (${c.conversation.id}, ${members(c.conversation.members.length)})`)
  const user = found.find((c) => c.kind === 'user')
  const how = user?.kind === 'user' ? `name a group by its id, the user as @${user.user.username}` : 'name the group by its id'
  return `"${printable(name)}" could be ${list.join(', ')}: ${how}`
}

async function findUser (client: ChatClient, username: string): Promise<User | undefined> {
  // A title with spaces is no username: not asked for (the search refuses long queries).
  if (!USERNAME.test(username)) return undefined
  try {
    return await client.findUser(username)
  } catch (err) {
    if (isChatClientError(err, 'not_found')) return undefined
    throw err
  }
}

async function direct (client: ChatClient, other: User): Promise<ChatTarget> {
  return {
    kind: 'direct',
    conversationId: client.directConversationId(other.id),
    label: other.username,
    other,
    members: [other.id],
    names: new Map([[other.id, other.username]])
  }
}

async function group (client: ChatClient, c: Conversation): Promise<ChatTarget> {
  const members = c.members.filter((m) => m !== client.userId)
  return { kind: 'group', conversationId: c.id, label: printable(c.title ?? c.id), members, names: await usernames(client, members) }
}

/** Needs the socket open (the conversation list is asked over it). */
export async function chatTarget (client: ChatClient, name: string): Promise<ChatTarget> {
  if (name.startsWith('@')) {
    const user = await findUser(client, name.slice(1))
    if (user === undefined) throw new Error(`no user named ${printable(name.slice(1))}`)
    return await direct(client, user)
  }
  const conversations = await client.conversations()
  if (UUID.test(name)) {
    const c = conversations.find((c) => c.kind === 'group' && c.id.toLowerCase() === name.toLowerCase())
    if (c === undefined) throw new Error(`you are not in a group ${name}`)
    return await group(client, c)
  }
  const found = candidates(name, await findUser(client, name.trim()), conversations)
  const [only] = found
  if (only === undefined) throw new Error(`no user named ${printable(name)} and none of your groups is titled "${printable(name)}"`)
  if (found.length > 1) throw new Error(ambiguous(name, found))
  return only.kind === 'user' ? await direct(client, only.user) : await group(client, only.conversation)
}
