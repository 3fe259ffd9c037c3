import type { ColumnType, Generated, Selectable } from 'kysely'
import type { AuthenticatorTransport } from '@metadome/contracts'

export interface PasskeyTable {
  id: Generated<string>
  user_id: string
  credential_id: string
  public_key: Buffer
  counter: ColumnType<number, number | undefined, number>
  transports: ColumnType<AuthenticatorTransport[], string, string>
  name: string
  created_at: ColumnType<Date, never, never>
  last_used_at: ColumnType<Date | null, never, Date>
}

export type PasskeyRow = Selectable<PasskeyTable>

export interface WebAuthnChallengeTable {
  challenge: string
  purpose: 'register' | 'login'
  user_id: string | null
  expires_at: Date
}
