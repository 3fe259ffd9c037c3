import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { AuthDatabase } from '../db/database.js'
import type { Passwords } from '../plugins/app/passwords.js'
import type { Background } from '../plugins/app/background.js'
import type { Mailer } from './mail.js'

/** What the account services (mail links, recovery) need. */
export interface AccountsContext {
  db: Kysely<AuthDatabase>
  passwords: Passwords
  mail: Mailer
  background: Background
  /** PUBLIC_URL: the browser client, where mailed links point. */
  publicUrl: string
  eventsWritten: () => void
}

export function accountsContext (app: FastifyInstance, publicUrl: string): AccountsContext {
  return { db: app.authDb, passwords: app.passwords, mail: app.mail, background: app.background, publicUrl, eventsWritten: app.outbox.wake }
}
