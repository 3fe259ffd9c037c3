import type { ColumnType, Selectable } from 'kysely'

export type AccountTokenPurpose = 'verify_email' | 'reset_password' | 'mfa_login'

export interface AccountTokenTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: Buffer
  user_id: string
  purpose: AccountTokenPurpose
  /** verify_email: the address the link proves. */
  email: string | null
  created_at: ColumnType<Date, never, never>
  expires_at: Date
}

export type AccountTokenRow = Selectable<AccountTokenTable>
