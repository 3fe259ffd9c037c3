/**
 * `consume()` options for a long-lived pull consumer that must go on soon
 * after a NATS node dies. nats.js pulls again only once two idle heartbeats
 * are missed, and after a reconnect it checks the consumer with an info
 * request, waiting `expires` between failed tries; a consumer whose leader
 * died is still electing one then. With the client's defaults (30 s
 * expiry, 15 s heartbeats) a consumer stood still for 30 to 45 s after its
 * node's kill -9; with these, 5 to 7 s (three nodes on loopback, the node
 * back after 3 s). The price is one pull request every 2 s per consumer
 * and a heartbeat a second while it is idle.
 */
export const RESUMING_PULL = { expires: 2_000, idle_heartbeat: 1_000 } as const

/**
 * The JetStream API timeout for the client such consumers are got from: the
 * info request above waits this long for a consumer without a leader before
 * it tries again (about 3 s sooner back than with the 5 s default).
 */
export const RESUMING_API_TIMEOUT_MS = 2_000
