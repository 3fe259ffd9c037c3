import { WebSocket } from 'ws'
import { until } from '@metadome/testing'
import { ChatClient, isChatClientError, type SocketLike, type WebSocketConstructor } from '@metadome/client'

// The chaos run's users: SDK clients (the real one, encrypting) spread over
// the gateways, each sending direct and group texts in a loop and recording
// every ack it gets and every text it is handed, for verify.ts to check.

export interface AckedMessage {
  id: string
  conversationId: string
  seq: number
  senderId: string
  ackedAt: number
}

export interface Received {
  id: string
  seq: number
}

export interface Participant {
  name: string
  userId: string
  client: ChatClient
  /** Texts handed over by the SDK, per conversation, in the order they came. */
  received: Map<string, Received[]>
  /** `message` frames whose id this client had already been sent: suppressed by the SDK. */
  readonly suppressed: number
  /** The client's events (connected, disconnected with its code, synced, rejected, error), for a report on what went missing. */
  timeline: Array<{ at: number, event: string }>
}

export interface TrafficOptions {
  authUrl: string
  /** Where the clients connect: the load balancer, or several gateways, client i on the i-th (modulo) alone. */
  gatewayUrls: string[]
  users: number
  password: string
  /** Pause between one client's sends (after each ack or failure). */
  sendIntervalMs?: number
  /** A prefix for the usernames, unique per run. */
  prefix: string
  log?: (line: string) => void
}

export interface Traffic {
  participants: Participant[]
  /** Conversation id → its members' user ids. */
  members: Map<string, string[]>
  acked: AckedMessage[]
  readonly sent: number
  /** Sends that failed, by error code. */
  failures: Map<string, number>
  /** When each failed send gave up (ms since the epoch), in order. */
  failureTimes: number[]
  /** The longest time without an ack while sending went on. */
  longestWithoutAckMs: () => number
  /** Starts every client's send loop. */
  start: () => void
  /** Stops the loops and waits for the sends in flight. */
  stop: () => Promise<void>
  close: () => Promise<void>
}

/** A `ws` socket that counts the `message` frames it had already carried (by message id) before the SDK sees them. */
function countingSocket (onDuplicate: () => void): WebSocketConstructor {
  const seen = new Set<string>()
  return class CountingSocket implements SocketLike {
    readonly #ws: WebSocket
    constructor (url: string) { this.#ws = new WebSocket(url) }
    get readyState (): number { return this.#ws.readyState }
    get onopen (): SocketLike['onopen'] { return null }
    set onopen (h: SocketLike['onopen']) { this.#ws.onopen = h }
    get onclose (): SocketLike['onclose'] { return null }
    set onclose (h: SocketLike['onclose']) { this.#ws.onclose = h === null ? null : (e) => { h({ code: e.code, reason: e.reason }) } }
    get onerror (): SocketLike['onerror'] { return null }
    set onerror (h: SocketLike['onerror']) { this.#ws.onerror = h }
    get onmessage (): SocketLike['onmessage'] { return null }
    set onmessage (h: SocketLike['onmessage']) {
      this.#ws.onmessage = h === null
        ? null
        : (e) => {
            const data = String(e.data)
            if (data.startsWith('{"type":"message"')) {
              const id = /"id":"([^"]+)"/.exec(data)?.[1]
              if (id !== undefined) {
                if (seen.has(id)) onDuplicate()
                seen.add(id)
              }
            }
            h({ data })
          }
    }

    send (data: string): void { this.#ws.send(data) }
    close (code?: number, reason?: string): void { this.#ws.close(code, reason) }
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Registers `users` users, signs each in on a gateway, pairs them in direct
 * conversations (0 with 1, 1 with 2, …, the last with 0) and puts all of
 * them in one group. Sending starts with start().
 */
export async function createTraffic (o: TrafficOptions): Promise<Traffic> {
  const log = o.log ?? (() => {})
  const participants: Participant[] = []
  for (let i = 0; i < o.users; i++) {
    const name = `${o.prefix}${i}`
    await ChatClient.register({ authUrl: o.authUrl, username: name, password: o.password })
    let suppressed = 0
    const client = await ChatClient.login({
      authUrl: o.authUrl,
      gatewayUrl: o.gatewayUrls[i % o.gatewayUrls.length] ?? o.gatewayUrls,
      username: name,
      password: o.password,
      WebSocket: countingSocket(() => { suppressed++ }),
      reconnect: { minDelayMs: 100, maxDelayMs: 1_000 },
      requestTimeoutMs: 20_000,
      heartbeatMs: 3_000
    })
    const participant: Participant = { name, userId: client.userId, client, received: new Map(), get suppressed () { return suppressed }, timeline: [] }
    const note = (event: string): void => { participant.timeline.push({ at: Date.now(), event }) }
    client.on('connected', (e) => { note(`connected to ${e.url}`) })
    client.on('disconnected', (e) => { note(`disconnected ${e.code} ${e.reason}`) })
    client.on('synced', (e) => { note(`synced at ${e.cursor}`) })
    client.on('rejected', (e) => { note(`rejected seq ${e.message.seq} (${e.message.id}): ${e.code}, ${e.error.message}`) })
    client.on('text', (e) => {
      const list = participant.received.get(e.conversationId) ?? []
      list.push({ id: e.message.id, seq: e.message.seq })
      participant.received.set(e.conversationId, list)
    })
    client.on('error', (err) => { note(`error: ${err instanceof Error ? err.message : String(err)}`) })
    participants.push(participant)
  }

  const members = new Map<string, string[]>()
  const targets: Array<Array<{ conversationId: string }>> = participants.map(() => [])
  for (const [i, p] of participants.entries()) {
    const peer = participants[(i + 1) % participants.length]
    if (peer === undefined || peer === p) continue
    if (members.has(p.client.directConversationId(peer.userId))) continue
    const conversationId = p.client.directConversationId(peer.userId)
    members.set(conversationId, [p.userId, peer.userId])
    targets[i]?.push({ conversationId })
    targets[(i + 1) % participants.length]?.push({ conversationId })
  }
  const [first] = participants
  if (first !== undefined && participants.length > 2) {
    // Users just registered reach the writer through auth-api's outbox and
    // USERS: until then a group with them is `not_found`, as for any client.
    const group = await until(async () => await first.client.createGroup(`${o.prefix} group`, participants.slice(1).map((p) => p.userId))
      .catch((err: unknown) => { if (isChatClientError(err, 'not_found')) return undefined; throw err }), 30_000, 'the writer knowing the new users')
    members.set(group.id, participants.map((p) => p.userId))
    for (const t of targets) t.push({ conversationId: group.id })
  }
  log(`${participants.length} users, ${members.size} conversations`)

  const acked: AckedMessage[] = []
  const failures = new Map<string, number>()
  const failureTimes: number[] = []
  let sent = 0
  let running = false
  let loops: Array<Promise<void>> = []
  let lastAckAt = 0
  let longest = 0
  const sendIntervalMs = o.sendIntervalMs ?? 50

  const loop = async (i: number): Promise<void> => {
    const p = participants[i]
    const mine = targets[i] ?? []
    if (p === undefined || mine.length === 0) return
    for (let k = 0; running; k++) {
      const target = mine[k % mine.length] ?? mine[0]
      if (target === undefined) return
      sent++
      try {
        const ack = await p.client.sendText(target, `${p.name} #${k}`)
        const now = Date.now()
        if (running) longest = Math.max(longest, now - lastAckAt)
        lastAckAt = now
        acked.push({ id: ack.id, conversationId: ack.conversationId, seq: ack.seq, senderId: p.userId, ackedAt: now })
      } catch (err) {
        const code = isChatClientError(err) ? err.code : err instanceof Error ? err.message : String(err)
        failures.set(code, (failures.get(code) ?? 0) + 1)
        failureTimes.push(Date.now())
      }
      await sleep(sendIntervalMs)
    }
  }

  return {
    participants,
    members,
    acked,
    get sent () { return sent },
    failures,
    failureTimes,
    longestWithoutAckMs: () => Math.max(longest, running ? Date.now() - lastAckAt : 0),
    start: () => {
      running = true
      lastAckAt = Date.now()
      loops = participants.map(async (_, i) => { await loop(i) })
    },
    stop: async () => {
      if (running) longest = Math.max(longest, Date.now() - lastAckAt)
      running = false
      await Promise.all(loops)
    },
    close: async () => {
      running = false
      await Promise.all(participants.map(async (p) => { await p.client.close() }))
    }
  }
}
