import type { UserTable } from './user.table.js'
import type { SessionTable } from './session.table.js'
import type { RefreshTokenTable } from './refresh-token.table.js'
import type { LoginAttemptTable } from './login-attempt.table.js'
import type { LoginAttemptByAddressTable } from './login-attempt-by-address.table.js'
import type { OutboxTable, OutboxRelayLockTable } from './outbox.table.js'
import type { DeviceListTable } from './device-list.table.js'
import type { AuditLogTable } from './audit.table.js'
import type { AccountTokenTable } from './account-token.table.js'
import type { RecoveryCodeTable } from './mfa.table.js'
import type { PasskeyTable, WebAuthnChallengeTable } from './passkey.table.js'

/** The `auth` schema; every table of auth-api, by name. */
export interface AuthDatabase {
  users: UserTable
  sessions: SessionTable
  refresh_tokens: RefreshTokenTable
  login_attempts: LoginAttemptTable
  login_attempts_by_address: LoginAttemptByAddressTable
  outbox: OutboxTable
  outbox_relay_lock: OutboxRelayLockTable
  device_lists: DeviceListTable
  audit_log: AuditLogTable
  account_tokens: AccountTokenTable
  recovery_codes: RecoveryCodeTable
  passkeys: PasskeyTable
  webauthn_challenges: WebAuthnChallengeTable
}

export const AUTH_SCHEMA = 'auth'
