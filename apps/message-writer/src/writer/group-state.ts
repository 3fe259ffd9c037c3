import type { ConversationEvent, GroupRole } from '@metadome/contracts'
import { RpcError } from '../rpc/rpc-error.js'

/** A group's current members and title: what an event is checked against. */
export interface GroupState {
  title: string
  createdAt: string
  /** Current members by user id. */
  members: Map<string, { role: GroupRole, joinedSeq: number }>
}

/**
 * Why a membership event may not happen. An RpcError, so the RPC check
 * before publishing (groups.authorize) answers with its code and message as
 * they are; the writer applying a stored event dead-letters it with them.
 */
export class GroupRefusal extends RpcError {
  override name = 'GroupRefusal'
}

const manages = (role: GroupRole | undefined): boolean => role === 'owner' || role === 'admin'

/**
 * PostgreSQL's text holds no U+0000, which the schema allows: a title with
 * one would pass the check before publishing and then fail to apply on every
 * delivery, holding up the stream. Refused here, so both refuse it.
 */
function checkTitle (title: string): void {
  if (title.includes('\u0000')) throw new GroupRefusal('bad_request', 'a title cannot contain U+0000')
}

/**
 * The group after `event` (stored at `seq`), or a GroupRefusal. Pure, so the
 * RPC check before publishing and the writer applying the stored event
 * decide alike. Rules: the owner and admins add, remove and rename; an admin
 * removes plain members only; anyone removes themself (leaves); only an
 * owner changes roles. When no owner is left, the oldest admin becomes owner,
 * else the oldest member.
 */
export function nextState (state: GroupState | undefined, event: ConversationEvent, seq: number, maxMembers: number): GroupState {
  if (event.type === 'created') {
    checkTitle(event.title)
    if (state !== undefined) throw new GroupRefusal('bad_request', 'a conversation with this id exists')
    const members = new Map<string, { role: GroupRole, joinedSeq: number }>()
    for (const m of event.members) {
      if (members.has(m.userId)) throw new GroupRefusal('bad_request', `${m.userId} is listed twice`)
      members.set(m.userId, { role: m.role, joinedSeq: seq })
    }
    if (members.get(event.actorId)?.role !== 'owner') throw new GroupRefusal('bad_request', 'the creator must be an owner of the group')
    if (members.size > maxMembers) throw new GroupRefusal('too_large', `a group has at most ${maxMembers} members`)
    return { title: event.title, createdAt: event.at, members }
  }
  if (state === undefined) throw new GroupRefusal('not_found', 'no such group')
  const actor = state.members.get(event.actorId)
  if (actor === undefined) throw new GroupRefusal('forbidden', 'not a member of this conversation')
  const members = new Map(state.members)
  const next: GroupState = { ...state, members }
  switch (event.type) {
    case 'member_added':
      if (!manages(actor.role)) throw new GroupRefusal('forbidden', 'only the owner and admins add members')
      if (members.has(event.userId)) throw new GroupRefusal('bad_request', 'already a member')
      if (members.size + 1 > maxMembers) throw new GroupRefusal('too_large', `a group has at most ${maxMembers} members`)
      members.set(event.userId, { role: 'member', joinedSeq: seq })
      return next
    case 'member_removed': {
      const target = members.get(event.userId)
      if (target === undefined) throw new GroupRefusal('not_found', 'not a member of this group')
      if (event.userId !== event.actorId) {
        if (!manages(actor.role)) throw new GroupRefusal('forbidden', 'only the owner and admins remove members')
        if (actor.role === 'admin' && target.role !== 'member') throw new GroupRefusal('forbidden', 'an admin removes members only')
      }
      members.delete(event.userId)
      return handOver(next)
    }
    case 'member_left':
      members.delete(event.actorId)
      return handOver(next)
    case 'renamed':
      if (!manages(actor.role)) throw new GroupRefusal('forbidden', 'only the owner and admins rename a group')
      checkTitle(event.title)
      next.title = event.title
      return next
    case 'role_changed': {
      if (actor.role !== 'owner') throw new GroupRefusal('forbidden', 'only the owner changes roles')
      const target = members.get(event.userId)
      if (target === undefined) throw new GroupRefusal('not_found', 'not a member of this group')
      members.set(event.userId, { ...target, role: event.role })
      return handOver(next)
    }
  }
}

/** With no owner left, the oldest admin (else the oldest member) becomes the owner. */
function handOver (state: GroupState): GroupState {
  const all = [...state.members.entries()]
  if (all.length === 0 || all.some(([, m]) => m.role === 'owner')) return state
  const oldest = (role: GroupRole) => all.filter(([, m]) => m.role === role)
    .sort(([a, x], [b, y]) => x.joinedSeq - y.joinedSeq || (a < b ? -1 : 1))[0]
  const heir = oldest('admin') ?? oldest('member')
  if (heir !== undefined) state.members.set(heir[0], { ...heir[1], role: 'owner' })
  return state
}
