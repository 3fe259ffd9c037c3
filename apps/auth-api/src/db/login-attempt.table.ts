import type { ColumnType } from 'kysely'

/** The per-account count of sign-in failures, whatever the address (see login-attempt.repository.ts). */
export interface LoginAttemptTable {
  /** lower(username) as asked for, existing or not. */
  username_key: string
  failures: number
  locked_until: Date | null
  last_failure_at: ColumnType<Date, Date | undefined, Date>
}
