import type pg from 'pg'
import type { Traffic } from './traffic.js'

// What a chaos run must hold (issue "npm run chaos"): every message a client
// got an ack for is stored in PostgreSQL exactly once, at the seq of its ack,
// and every other member of its conversation was handed it exactly once, in
// seq order.

export interface ChaosReport {
  sent: number
  acked: number
  /** Acked messages found in PostgreSQL at the seq of their ack. */
  stored: number
  /** Deliveries an acked message needed (one per member other than the sender). */
  expectedDeliveries: number
  /** Deliveries of acked messages that arrived, once each. */
  delivered: number
  /** `message` frames a client had been sent before: the SDK dropped them (by message id). */
  duplicatesSuppressed: number
  /** Texts the SDK handed over twice, or rows stored twice: a failure. */
  duplicates: number
  /** Acked messages missing from PostgreSQL, plus deliveries that never came. */
  lost: number
  /** Acked messages stored at another seq than their ack's (the stream stored them twice). */
  wrongSeq: number
  /** Texts handed over out of seq order within a conversation. */
  outOfOrder: number
  longestWithoutAckMs: number
  failures: Record<string, number>
  /** How long the system took to settle after the faults. */
  settleMs: number
  /** How long until PostgreSQL held every acked message, and until every delivery came (undefined: not within the wait). */
  storedMs: number | undefined
  deliveredMs: number | undefined
  ok: boolean
  /** The first deliveries that never came, with what the recipient's socket did around them: what a failed run is read from. */
  missing: MissingDelivery[]
  /** The faults as they ran (runChaos fills it in). */
  faults: Array<{ name: string, startedAt: number, endedAt: number }>
}

export interface MissingDelivery {
  recipient: string
  conversationId: string
  id: string
  seq: number
  sender: string
  ackedAt: number
  /** The recipient's socket events from 10 s before the ack to 10 s after. */
  around: Array<{ at: number, event: string }>
}

/** Missing deliveries listed in a report, at most. */
const MISSING_LISTED = 10

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function storedRows (sql: pg.Pool, ids: string[]): Promise<Map<string, number[]>> {
  const rows = new Map<string, number[]>()
  for (let i = 0; i < ids.length; i += 5_000) {
    const res = await sql.query<{ id: string, seq: string }>('SELECT id, seq FROM chat.messages WHERE id = ANY($1::uuid[])', [ids.slice(i, i + 5_000)])
    for (const r of res.rows) rows.set(r.id, [...(rows.get(r.id) ?? []), Number(r.seq)])
  }
  return rows
}

function deliveries (traffic: Traffic): { expected: number, missing: number, duplicates: number, listed: MissingDelivery[] } {
  let expected = 0
  let missing = 0
  let duplicates = 0
  const listed: MissingDelivery[] = []
  const names = new Map(traffic.participants.map((p) => [p.userId, p.name]))
  const counts = traffic.participants.map((p) => {
    const byId = new Map<string, number>()
    for (const list of p.received.values()) for (const r of list) byId.set(r.id, (byId.get(r.id) ?? 0) + 1)
    return byId
  })
  for (const m of traffic.acked) {
    const members = traffic.members.get(m.conversationId) ?? []
    for (const [i, p] of traffic.participants.entries()) {
      if (p.userId === m.senderId || !members.includes(p.userId)) continue
      expected++
      const n = counts[i]?.get(m.id) ?? 0
      if (n === 0) {
        missing++
        if (listed.length < MISSING_LISTED) {
          const around = p.timeline.filter((e) => Math.abs(e.at - m.ackedAt) <= 10_000)
          listed.push({ recipient: p.name, conversationId: m.conversationId, id: m.id, seq: m.seq, sender: names.get(m.senderId) ?? m.senderId, ackedAt: m.ackedAt, around })
        }
      }
      if (n > 1) duplicates += n - 1
    }
  }
  return { expected, missing, duplicates, listed }
}

/**
 * Waits (up to `settleTimeoutMs`) until PostgreSQL holds every acked message
 * and every member has been handed each, then checks everything.
 */
export async function verify (traffic: Traffic, sql: pg.Pool, settleTimeoutMs = 60_000): Promise<ChaosReport> {
  const started = Date.now()
  const ids = traffic.acked.map((m) => m.id)
  let rows = new Map<string, number[]>()
  // When each half settled: which one a slow settle waited for.
  let storedMs: number | undefined
  let deliveredMs: number | undefined
  for (;;) {
    try {
      rows = await storedRows(sql, ids)
    } catch {
      // PostgreSQL may still be coming back.
    }
    if (storedMs === undefined && rows.size === ids.length) storedMs = Date.now() - started
    if (deliveredMs === undefined && deliveries(traffic).missing === 0) deliveredMs = Date.now() - started
    if ((storedMs !== undefined && deliveredMs !== undefined) || Date.now() - started > settleTimeoutMs) break
    await sleep(250)
  }
  const settleMs = Date.now() - started

  let stored = 0
  let wrongSeq = 0
  let storedTwice = 0
  for (const m of traffic.acked) {
    const seqs = rows.get(m.id) ?? []
    if (seqs.length > 1) storedTwice += seqs.length - 1
    if (seqs.includes(m.seq)) stored++
    else if (seqs.length > 0) wrongSeq++
  }
  let outOfOrder = 0
  for (const p of traffic.participants) {
    for (const list of p.received.values()) {
      for (let i = 1; i < list.length; i++) if ((list[i]?.seq ?? 0) <= (list[i - 1]?.seq ?? 0)) outOfOrder++
    }
  }
  const d = deliveries(traffic)
  const lost = (ids.length - rows.size) + d.missing
  const duplicates = d.duplicates + storedTwice
  return {
    sent: traffic.sent,
    acked: ids.length,
    stored,
    expectedDeliveries: d.expected,
    delivered: d.expected - d.missing,
    duplicatesSuppressed: traffic.participants.reduce((n, p) => n + p.suppressed, 0),
    duplicates,
    lost,
    wrongSeq,
    outOfOrder,
    longestWithoutAckMs: traffic.longestWithoutAckMs(),
    failures: Object.fromEntries(traffic.failures),
    settleMs,
    storedMs,
    deliveredMs,
    ok: lost === 0 && duplicates === 0 && wrongSeq === 0 && outOfOrder === 0,
    missing: d.listed,
    faults: []
  }
}

/** The report as one table, for a terminal. */
export function formatReport (r: ChaosReport): string {
  const rows: Array<[string, string]> = [
    ['sent', String(r.sent)],
    ['acked', String(r.acked)],
    ['stored (exactly once, at its ack\'s seq)', `${r.stored} of ${r.acked}`],
    ['delivered (to every other member)', `${r.delivered} of ${r.expectedDeliveries}`],
    ['duplicates suppressed by the SDK', String(r.duplicatesSuppressed)],
    ['duplicates (handed over or stored twice)', String(r.duplicates)],
    ['lost (acked, then not stored or not delivered)', String(r.lost)],
    ['stored at another seq', String(r.wrongSeq)],
    ['out of seq order', String(r.outOfOrder)],
    ['longest time without an ack', `${(r.longestWithoutAckMs / 1000).toFixed(1)} s`],
    ['failed sends', Object.entries(r.failures).map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
    ['settled after the faults in', `${seconds(r.settleMs)} (stored in ${r.storedMs === undefined ? 'never' : seconds(r.storedMs)}, delivered in ${r.deliveredMs === undefined ? 'never' : seconds(r.deliveredMs)})`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = [...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), '', r.ok ? 'OK: nothing acked was lost or duplicated' : 'FAILED: see lost / duplicates above']
  if (r.missing.length > 0) {
    lines.push('', 'faults:', ...r.faults.map((f) => `  ${clock(f.startedAt)} to ${clock(f.endedAt)}  ${f.name}`))
    lines.push('deliveries that never came:')
    for (const m of r.missing) {
      lines.push(`  seq ${m.seq} (${m.id}) from ${m.sender} in ${m.conversationId}, acked ${clock(m.ackedAt)}, not handed to ${m.recipient}`)
      lines.push(...m.around.map((e) => `    ${clock(e.at)}  ${m.recipient} ${e.event}`))
    }
  }
  return lines.join('\n')
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 23)
