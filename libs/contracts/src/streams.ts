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
export const chatStream = (ns: Namespace, duplicateWindowMs = 2 * 60 * 1000) => ({
  name: ns.stream('CHAT'),
  subjects: [ns.subject('chat', '>')],
  duplicate_window: duplicateWindowMs * NANOS_PER_MS,
  republish: { src: ns.subject('chat', '>'), dest: ns.subject('live', '>') }
})
