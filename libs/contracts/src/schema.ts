import Type, { type TObject, type TObjectOptions, type TProperties } from 'typebox'

// The small pieces every schema here is built from, defined once.

/**
 * An object that refuses unknown properties (DESIGN.md: "Unknown fields are
 * rejected"): every request, frame and event is one. Results of the writer's
 * RPC methods are plain Type.Object on purpose: they may gain properties.
 */
export function Strict<T extends TProperties> (properties: T, options: TObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { ...options, additionalProperties: false })
}

export const Uuid = Type.String({ format: 'uuid' })

/** A CHAT stream sequence: one total order across conversations. */
// At most 2^53 - 1: a JSON number stays exact to there, and PostgreSQL's bigint holds it.
export const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'CHAT stream sequence: one total order across conversations' })

/** The highest seq a client (or a catch-up) has seen; 0 for none, "before everything". */
export const Cursor = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'the highest seq seen; 0 for none' })

/** Group conversation ids are UUIDs; direct ones are derived (see directConversationId). */
/** Where a page of a list starts: the `nextCursor` of the page before, opaque to clients. */
export const PageCursor = Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'the nextCursor of the page before; opaque' })

export const GroupId = Type.String({ format: 'uuid', description: 'a group conversation id' })

/** A member's standing in a group: the owner(s) and admins manage it; direct conversations have two members. */
export const GroupRole = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')])
