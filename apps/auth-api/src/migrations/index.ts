import type { Migrations } from '@metadome/db'
import * as users from './2026-11-24-0001-users.js'
import * as sessions from './2026-11-24-0002-sessions.js'
import * as loginAttemptsByAddress from './2026-12-03-0001-login-attempts-by-address.js'
import * as auditLog from './2026-12-03-0002-audit-log.js'
import * as accountTokens from './2026-12-03-0003-account-tokens.js'
import * as totp from './2026-12-03-0004-totp.js'
import * as passkeys from './2026-12-03-0005-passkeys.js'

// Listed explicitly rather than read from the folder, so the same list works
// from src/ under tsx and from dist/ in the image. Names sort in run order.
export const migrations: Migrations = {
  '2026-11-24-0001-users': users,
  '2026-11-24-0002-sessions': sessions,
  '2026-12-03-0001-login-attempts-by-address': loginAttemptsByAddress,
  '2026-12-03-0002-audit-log': auditLog,
  '2026-12-03-0003-account-tokens': accountTokens,
  '2026-12-03-0004-totp': totp,
  '2026-12-03-0005-passkeys': passkeys
}
