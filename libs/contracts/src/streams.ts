import type { Namespace } from './namespace.js'

// The JetStream streams and their subjects, named once. Any app may run
// ensureStream() with these configs at start (idempotent), so start order
// between apps does not matter.

const NANOS_PER_MS = 1_000_000

export const usersStream = (ns: Namespace) => ({
  name: ns.stream('USERS'),
  subjects: [ns.subject('users', '>')],
  duplicate_window: 2 * 60 * 1000 * NANOS_PER_MS
})

/** `<ns>.users.<type>` */
export const userEventSubject = (ns: Namespace, type: string): string => ns.subject('users', type)

/**
 * CHAT: every stored message (and, for groups, every membership change) in
 * one total order. RePublish re-emits each message once stored, with its
 * stream sequence in the `Nats-Sequence` header, from `<ns>.chat.…` to
 * `<ns>.live.…`: gateways subscribe there, per conversation, for live
 * fan-out. A duplicate publish is stored and re-emitted once only.
 */
export const chatStream = (ns: Namespace, limits: ChatStreamLimits = {}) => ({
  name: ns.stream('CHAT'),
  subjects: [ns.subject('chat', '>')],
  duplicate_window: (limits.duplicateWindowMs ?? 2 * 60 * 1000) * NANOS_PER_MS,
  republish: { src: ns.subject('chat', '>'), dest: ns.subject('live', '>') },
  // PostgreSQL keeps the history; the stream needs only what the writer has
  // not stored yet and what catch-ups read above it. Full, it refuses new
  // messages (the gateway answers `unavailable`) rather than drop old ones
  // the writer may not have stored.
  max_age: (limits.maxAgeMs ?? 0) * NANOS_PER_MS,
  max_bytes: limits.maxBytes ?? -1,
  discard: 'new' as const
})

/** CHAT_STREAM_MAX_AGE_DAYS and CHAT_STREAM_MAX_BYTES (0 and -1: no limit). */
export interface ChatStreamLimits {
  duplicateWindowMs?: number
  maxAgeMs?: number
  maxBytes?: number
}
