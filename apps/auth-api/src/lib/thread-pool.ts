import { availableParallelism } from 'node:os'

// bcrypt's async functions run on libuv's thread pool, which also serves fs,
// dns.lookup, zlib and crypto.pbkdf2/scrypt. The pool has UV_THREADPOOL_SIZE
// threads (default 4), fixed when it is first used: it must be set in the
// environment that starts node (package.json scripts and the image do),
// because by the time our code runs the loader has already used the pool.
//
// Hashing is CPU-bound, so more concurrent hashes than cores only adds
// latency. We let at most `cores` hashes into the pool at once and want
// RESERVED threads left over so that a burst of logins never queues file or
// DNS work behind seconds of bcrypt: UV_THREADPOOL_SIZE = cores + RESERVED.

export const RESERVED_THREADS = 4

export function threadPoolSize (env: Record<string, string | undefined>): number {
  const n = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10)
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4
}

export function recommendedThreadPoolSize (cores = availableParallelism()): number {
  return cores + RESERVED_THREADS
}

/** How many bcrypt operations may run at once with this pool. */
export function hashConcurrency (poolSize: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, poolSize - Math.min(RESERVED_THREADS, Math.floor(poolSize / 2))))
}
