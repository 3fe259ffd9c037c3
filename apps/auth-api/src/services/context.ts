import type { Kysely } from 'kysely'
import type { AuthDatabase } from '../db/database.js'
import type { Passwords } from '../plugins/app/passwords.js'

/** What the user services need: routes pass the app's, create-admin its own. */
export interface UsersContext {
  db: Kysely<AuthDatabase>
  passwords: Passwords
  /** Called after a transaction that wrote an event commits. */
  eventsWritten: () => void
}
