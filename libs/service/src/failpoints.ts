// Failpoints, as FoundationDB, TiKV and etcd have them: named places in the
// code where a chaos run can make the process die, to test what no signal
// sent from outside can hit on purpose (a writer killed between its commit
// and its acks). Off unless METADOME_FAILPOINTS names them; never set in
// production. `writer.after-commit=0.02,writer.before-commit=0.01` kills the
// process (SIGKILL, as a crash: no handler, no drain) at 2 % of the times the
// first is reached and 1 % of the second.

let armed: Map<string, number> | undefined

/** Parses METADOME_FAILPOINTS: `name=probability` pairs, comma-separated; throws on a malformed one. */
export function parseFailpoints (spec: string | undefined): Map<string, number> {
  const points = new Map<string, number>()
  for (const part of (spec ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const [name, value, ...rest] = part.split('=')
    const probability = Number(value)
    if (name === undefined || name === '' || rest.length > 0 || value === undefined || !(probability > 0 && probability <= 1)) {
      throw new Error(`METADOME_FAILPOINTS: "${part}" is not name=probability with 0 < probability <= 1`)
    }
    points.set(name, probability)
  }
  return points
}

/** Kills this process with SIGKILL at `name` if METADOME_FAILPOINTS arms it, with its probability. */
export function failpoint (name: string): void {
  armed ??= parseFailpoints(process.env.METADOME_FAILPOINTS)
  const probability = armed.get(name)
  if (probability !== undefined && Math.random() < probability) process.kill(process.pid, 'SIGKILL')
}
