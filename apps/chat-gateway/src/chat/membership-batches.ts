import { RequestError } from '@nats-io/transport-node'
import { Compile } from 'typebox/compile'
import { ChatRpcError, ChatRpcMethods, MEMBERSHIPS_BATCH_MAX_USERS, type ChatRpcClient, type ChatRpcResult } from '@metadome/contracts'

export type MembershipsPage = ChatRpcResult<'conversations.memberships'>

interface Waiter {
  resolve: (page: MembershipsPage) => void
  reject: (err: unknown) => void
}

export interface MembershipBatchesOptions {
  /** Users per request (at most MEMBERSHIPS_BATCH_MAX_USERS). */
  maxUsers?: number
  /** Requests under way at once; users who connect meanwhile wait for the next one. */
  concurrency?: number
  /** Requests start at least this far apart (users who connect meanwhile share the next one); a user asked for after a quiet spell is asked for at once. */
  spacingMs?: number
}

const isUserPage = Compile(ChatRpcMethods['conversations.membershipsOf'].result.properties.users.items)

/** No writer serves conversations.membershipsOf (all older than it): ask user by user. */
function unserved (err: unknown): boolean {
  return err instanceof ChatRpcError && err.cause instanceof RequestError && err.cause.isNoResponders()
}

/**
 * The first page of each connecting user's memberships, asked for many users
 * at once (conversations.membershipsOf). Users who connect within one turn
 * of the event loop, or while `concurrency` requests are under way, share
 * the next request: a reconnect storm cost one request, one NATS round trip
 * and one query per socket (measured: most of the writer's and PostgreSQL's
 * CPU per connect). A lone connect is asked for at once. Users the reply
 * left out (it must fit NATS's max payload), and every user while no writer
 * serves the method yet (a rolling upgrade), are asked for one by one
 * (conversations.memberships).
 */
export class MembershipBatches {
  readonly #writer: ChatRpcClient
  readonly #maxUsers: number
  readonly #concurrency: number
  #queued = new Map<string, Waiter[]>()
  readonly #spacingMs: number
  #inFlight = 0
  #scheduled = false
  #sentAt = Number.NEGATIVE_INFINITY

  constructor (writer: ChatRpcClient, { maxUsers = MEMBERSHIPS_BATCH_MAX_USERS, concurrency = 1, spacingMs = 0 }: MembershipBatchesOptions = {}) {
    this.#writer = writer
    this.#maxUsers = Math.max(1, Math.min(maxUsers, MEMBERSHIPS_BATCH_MAX_USERS))
    this.#concurrency = Math.max(1, concurrency)
    this.#spacingMs = spacingMs
  }

  firstPage (userId: string): Promise<MembershipsPage> {
    return new Promise((resolve, reject) => {
      const waiters = this.#queued.get(userId)
      if (waiters === undefined) this.#queued.set(userId, [{ resolve, reject }])
      else waiters.push({ resolve, reject })
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    const run = (): void => {
      this.#scheduled = false
      this.#send()
    }
    const wait = this.#sentAt + this.#spacingMs - performance.now()
    if (wait > 0) setTimeout(run, wait)
    else setImmediate(run)
  }

  #send (): void {
    // A timer may fire a little early: wait out the rest of the spacing.
    if (performance.now() - this.#sentAt < this.#spacingMs) {
      this.#schedule()
      return
    }
    while (this.#inFlight < this.#concurrency && this.#queued.size > 0) {
      this.#sentAt = performance.now()
      const batch = new Map<string, Waiter[]>()
      for (const [userId, waiters] of this.#queued) {
        if (batch.size >= this.#maxUsers) break
        batch.set(userId, waiters)
      }
      for (const userId of batch.keys()) this.#queued.delete(userId)
      this.#inFlight++
      void this.#ask(batch).finally(() => {
        this.#inFlight--
        if (this.#queued.size > 0) this.#schedule()
      })
    }
  }

  /** Settles every waiter of the batch, whatever the writer answers. */
  async #ask (batch: Map<string, Waiter[]>): Promise<void> {
    try {
      await this.#answer(batch)
    } catch (err) {
      // Settled ones stay as they are; the others hear the failure.
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err)
    }
  }

  async #answer (batch: Map<string, Waiter[]>): Promise<void> {
    let users: unknown
    try {
      users = batch.size === 1 ? [] : (await this.#writer.call('conversations.membershipsOf', { userIds: [...batch.keys()] })).users
    } catch (err) {
      if (!unserved(err)) throw err
      users = []
    }
    // Replies are not checked against the schema (chatRpc trusts the writer):
    // an entry that is not a page is as good as left out.
    const pages = new Map<string, MembershipsPage>()
    if (Array.isArray(users)) {
      for (const u of users) {
        if (!isUserPage.Check(u)) continue
        const { userId, ...page } = u
        pages.set(userId, page)
      }
    }
    await Promise.all([...batch].map(async ([userId, waiters]) => {
      let page = pages.get(userId)
      try {
        page ??= await this.#writer.call('conversations.memberships', { userId })
      } catch (err) {
        for (const w of waiters) w.reject(err)
        return
      }
      for (const w of waiters) w.resolve(page)
    }))
  }
}
