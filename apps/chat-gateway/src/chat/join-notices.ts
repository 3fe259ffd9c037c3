import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import type { FastifyBaseLogger } from 'fastify'
import { Compile } from 'typebox/compile'
import { JoinedNotice, type chatSubjects, type Conversation, type ConversationChange } from '@metadome/contracts'

export interface JoinNoticesDeps {
  nc: NatsConnection
  subjects: ReturnType<typeof chatSubjects>
  log: FastifyBaseLogger
  /** Whether this gateway holds a socket of the user (only then is a notice for them acted on). */
  holds: (userId: string) => boolean
  onJoin: (userId: string, notice: JoinedNotice) => void
}

const isJoinedNotice = Compile(JoinedNotice)

/**
 * Tells the gateways of users who are in a conversation they may not follow
 * yet (JoinedNotice on `<ns>.user.<userId>`), and hears those notices. One
 * wildcard subscription for every user rather than one per connected user:
 * notices are rare (a first message between two users, a group change that
 * adds someone), and it is in place before any user loads, so none falls in
 * between.
 */
export class JoinNotices {
  readonly #deps: JoinNoticesDeps
  readonly #subscription: Subscription

  constructor (deps: JoinNoticesDeps) {
    this.#deps = deps
    const prefix = deps.subjects.user('')
    this.#subscription = deps.nc.subscribe(deps.subjects.user('*'), {
      callback: (err, msg) => {
        if (err !== null) return
        const userId = msg.subject.slice(prefix.length)
        if (!deps.holds(userId)) return
        let notice: unknown
        try {
          notice = msg.json()
        } catch {
          notice = undefined
        }
        if (!isJoinedNotice.Check(notice)) {
          deps.log.warn({ subject: msg.subject }, 'ignored a join notice that does not match the contract')
          return
        }
        deps.onJoin(userId, notice)
      }
    })
  }

  /** Tells every gateway holding these users that they are in `conversation`. */
  announce (userIds: string[], conversation: Conversation, group?: { joinedSeq: number, change: ConversationChange }): void {
    const notice: JoinedNotice = { type: 'joined', conversation, ...group }
    const data = JSON.stringify(notice)
    for (const userId of new Set(userIds)) this.#deps.nc.publish(this.#deps.subjects.user(userId), data)
  }

  close (): void {
    this.#subscription.unsubscribe()
  }
}
