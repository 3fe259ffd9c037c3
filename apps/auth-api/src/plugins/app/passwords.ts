import fp from 'fastify-plugin'
import bcrypt from 'bcrypt'
import { randomBytes } from 'node:crypto'
import { Histogram } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { Semaphore } from '@metadome/service'
import { hashConcurrency, recommendedThreadPoolSize } from '../../lib/thread-pool.js'
import { commonPasswords, isCommonPassword } from '../../lib/common-passwords.js'
import { PasswordTooLong, WeakPassword } from '../../errors.js'

/** bcrypt reads at most 72 bytes; past that it silently ignores the rest. */
export const MAX_PASSWORD_BYTES = 72

export interface Passwords {
  /** Throws weak_password or password_too_long; never truncates, never pre-hashes. */
  checkPolicy: (password: string, username: string) => void
  hash: (password: string) => Promise<string>
  /** Against `hash`, or against a dummy hash of the same cost when there is no user, so both take as long. */
  verify: (password: string, hash: string | undefined) => Promise<boolean>
}

declare module 'fastify' {
  interface FastifyInstance {
    passwords: Passwords
  }
}

export interface PasswordsOptions {
  cost: number
  threadPoolSize: number
}

export function tooLong (password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES
}

export interface PasswordsObserver {
  /** Called with each bcrypt operation's duration, the wait for a free core included. */
  timed?: (op: 'hash' | 'verify') => () => void
}

/**
 * Password rules and bcrypt, off the event loop: bcrypt's async calls run on
 * libuv's thread pool, and a semaphore keeps at most as many hashes in it as
 * there are cores (see lib/thread-pool.ts for the sizing).
 */
export async function createPasswords (opts: PasswordsOptions, observer: PasswordsObserver = {}): Promise<Passwords> {
  const slots = new Semaphore(hashConcurrency(opts.threadPoolSize))
  const timed = async <T>(op: 'hash' | 'verify', fn: () => Promise<T>): Promise<T> => {
    const end = observer.timed?.(op)
    try {
      return await slots.run(fn)
    } finally {
      end?.()
    }
  }

  commonPasswords() // load the list at start, not on the first registration
  // Verified against when the user does not exist: same cost, same time.
  const dummyHash = await bcrypt.hash(randomBytes(16).toString('base64url'), opts.cost)

  return {
    checkPolicy (password: string, username: string): void {
      if (tooLong(password)) throw new PasswordTooLong()
      if (password.toLowerCase() === username.toLowerCase()) throw new WeakPassword('the password may not be the username')
      if (isCommonPassword(password)) throw new WeakPassword('this password is among the 10,000 most common ones: choose another')
    },
    hash: async (password: string) => await timed('hash', async () => await bcrypt.hash(password, opts.cost)),
    verify: async (password: string, hash: string | undefined) => {
      // A longer password was never accepted, and bcrypt would compare only
      // its first 72 bytes: it must not match. Still spend the same time.
      const ok = await timed('verify', async () => await bcrypt.compare(password, hash ?? dummyHash))
      return ok && hash !== undefined && !tooLong(password)
    }
  }
}

export const passwordsPlugin = fp(async function passwordsPlugin (app: FastifyInstance, opts: PasswordsOptions) {
  if (opts.threadPoolSize < recommendedThreadPoolSize()) {
    app.log.warn({ UV_THREADPOOL_SIZE: opts.threadPoolSize, recommended: recommendedThreadPoolSize(), hashConcurrency: hashConcurrency(opts.threadPoolSize) },
      'UV_THREADPOOL_SIZE is below cores + 4: password hashing may not use every core, or may hold up file and DNS work')
  }
  const seconds = new Histogram({
    name: 'auth_password_hash_seconds',
    help: 'Time to hash or verify a password with bcrypt, including the wait for a free core',
    labelNames: ['op'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [app.metrics]
  })
  for (const op of ['hash', 'verify']) seconds.zero({ op })
  app.decorate('passwords', await createPasswords(opts, { timed: (op) => seconds.startTimer({ op }) }))
}, { name: 'auth-passwords', dependencies: ['metadome-metrics'] })
