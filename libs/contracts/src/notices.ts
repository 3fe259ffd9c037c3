import Type, { type Static } from 'typebox'
import { Strict } from './schema.js'
import { Conversation } from './chat.js'
import { ConversationChange } from './frames.js'

/**
 * Core NATS, gateway to gateway, on chatSubjects(ns).user(userId): that user
 * is in a conversation their gateways may not follow yet (the first direct
 * message between two users, a group they were added to or created with).
 * Every gateway holding one of the user's sockets subscribes to the
 * conversation and catches the sockets up on it.
 */
export const JoinedNotice = Strict({
  type: Type.Literal('joined'),
  conversation: Conversation,
  joinedSeq: Type.Optional(Type.Integer({ minimum: 1, description: 'groups: the seq of the change that added the user; they get messages after it only' })),
  change: Type.Optional(ConversationChange)
}, { $id: 'JoinedNotice' })
export type JoinedNotice = Static<typeof JoinedNotice>
