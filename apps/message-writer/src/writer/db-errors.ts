/**
 * What a database error means for the messages being written:
 * - `data`: PostgreSQL rejected the data itself (SQLSTATE class 22 data
 *   exception, e.g. a \u0000 in a jsonb string, or 23 integrity violation);
 *   retrying the same rows fails the same way.
 * - `conflict`: the transaction lost a race (class 40: deadlock,
 *   serialization failure); retrying it at once succeeds.
 * - `unavailable`: anything else (connection lost, too many clients, shutting
 *   down); retry later.
 */
export function classifyDbError (err: unknown): 'data' | 'conflict' | 'unavailable' {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || code.length !== 5) return 'unavailable'
  if (code.startsWith('22') || code.startsWith('23')) return 'data'
  if (code.startsWith('40')) return 'conflict'
  return 'unavailable'
}
