import Type, { type Static } from 'typebox'
import { Strict } from './schema.js'

// USERS stream events (DESIGN.md, issue "User Management System"): published
// by auth-api's outbox relay on `<ns>.users.<type>` with Nats-Msg-Id = id.
// Never a secret: no password, hash, email or token.

export const UserEventType = Type.Union([
  Type.Literal('registered'),
  Type.Literal('updated'),
  Type.Literal('deleted'),
  Type.Literal('sessions_revoked')
])
export type UserEventType = Static<typeof UserEventType>

export const UserEvent = Strict({
  id: Type.String({ format: 'uuid', description: 'event id; also the Nats-Msg-Id' }),
  type: UserEventType,
  occurredAt: Type.String({ format: 'date-time' }),
  user: Strict({
    id: Type.String({ format: 'uuid' }),
    username: Type.String(),
    displayName: Type.String()
  }),
  sessionIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), {
    maxItems: 10_000,
    description: 'sessions_revoked: the sessions that ended (their tokens and sockets end with them); absent: every session of the user that began before occurredAt'
  }))
}, { $id: 'UserEvent' })
export type UserEvent = Static<typeof UserEvent>
