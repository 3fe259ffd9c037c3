import type { Transaction } from 'kysely'
import { Forbidden, NotFound } from '@metadome/service'
import type { RegisterRequest, UpdateUserRequest, User } from '@metadome/contracts'
import type { UserRow, UserUpdate } from '../db/user.table.js'
import { deleteUser, findUserById, insertUser, lockUserById, updateUser } from '../db/user.repository.js'
import { revokeUserSessions } from '../db/session.repository.js'
import { appendEvent, appendSessionsRevoked } from '../db/outbox.repository.js'
import { CurrentPasswordRequired } from '../errors.js'
import type { Caller } from '../plugins/app/tokens.js'
import type { UsersContext } from './context.js'
import { checkCurrentPassword } from './current-password.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import type { AuthDatabase } from '../db/database.js'

type Who = { actorId: string, userId: string, ip: string | null }

/** One audit entry per kind of change a PATCH made, in its transaction. Values are named, never copied (no address, no hash). */
async function auditChanges (trx: Transaction<AuthDatabase>, who: Who, before: UserRow, after: UserRow, patch: UserUpdate, sessionsEnded: number): Promise<void> {
  const by = who.actorId === who.userId ? 'self' : 'admin'
  const fields = (['username', 'display_name'] as const).filter((f) => patch[f] !== undefined && before[f] !== after[f])
  if (fields.length > 0) await insertAuditEntry(trx, { action: 'user.updated', ...who, details: { fields: fields.map((f) => f === 'display_name' ? 'displayName' : f) } })
  if (patch.email !== undefined && before.email !== after.email) await insertAuditEntry(trx, { action: 'email.changed', ...who, details: { by, removed: after.email === null } })
  if (patch.password_hash !== undefined) await insertAuditEntry(trx, { action: 'password.changed', ...who, details: { by, sessionsEnded } })
  if (before.disabled !== after.disabled) {
    await insertAuditEntry(trx, { action: after.disabled ? 'user.disabled' : 'user.enabled', ...who, details: after.disabled ? { sessionsEnded } : {} })
  }
  if (before.role !== after.role) await insertAuditEntry(trx, { action: 'user.role_changed', ...who, details: { from: before.role, to: after.role } })
}

/** The user as `viewer` may see them: email only for themself and admins. */
export function toUser (row: UserRow, viewer?: Pick<Caller, 'userId' | 'role'>): User {
  const user: User = {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
  if (viewer !== undefined && (viewer.userId === row.id || viewer.role === 'admin')) {
    user.email = row.email
    user.role = row.role
    user.disabled = row.disabled
    user.emailVerified = row.email_verified
  }
  return user
}

export async function registerUser (ctx: UsersContext, req: RegisterRequest, role: 'user' | 'admin' = 'user', ip?: string): Promise<UserRow> {
  ctx.passwords.checkPolicy(req.password, req.username)
  const hash = await ctx.passwords.hash(req.password)
  const row = await ctx.db.transaction().execute(async (trx) => {
    const row = await insertUser(trx, {
      username: req.username,
      display_name: req.displayName ?? req.username,
      email: req.email ?? null,
      password_hash: hash,
      role
    })
    await appendEvent(trx, 'registered', row)
    await insertAuditEntry(trx, { action: 'user.registered', actorId: null, userId: row.id, ip: ip ?? null, details: { role } })
    return row
  })
  ctx.eventsWritten()
  return row
}

/**
 * Self or admin; a user changing their own username, email or password
 * proves it with currentPassword, counted as a sign-in attempt from `ip`.
 */
export async function updateUserAccount (ctx: UsersContext, caller: Caller, id: string, req: UpdateUserRequest, ip: string | undefined): Promise<UserRow> {
  const self = caller.userId === id
  if (!self && caller.role !== 'admin') throw new Forbidden('only the user themself or an admin may change a user')
  if ((req.disabled !== undefined || req.role !== undefined) && (caller.role !== 'admin' || self)) {
    // An admin who could disable or demote themself could leave no admin at all.
    throw new Forbidden('only an admin may disable a user or change a role, and not their own')
  }
  const target = await findUserById(ctx.db, id)
  if (target === undefined) throw new NotFound('no such user')
  // The email too: it is where a password reset goes, so a stolen access
  // token that could change it could take the account for good.
  const newEmail = req.email !== undefined && req.email !== target.email
  if (self && (req.username !== undefined || req.password !== undefined || newEmail) && req.currentPassword === undefined) {
    throw new CurrentPasswordRequired('changing your username, email or password needs currentPassword')
  }
  if (self && req.currentPassword !== undefined) await checkCurrentPassword(ctx, target, req.currentPassword, ip)

  const patch: UserUpdate = {}
  if (req.username !== undefined) patch.username = req.username
  if (req.displayName !== undefined) patch.display_name = req.displayName
  if (newEmail) {
    patch.email = req.email
    // A new address is unproven until its own link is followed.
    patch.email_verified = false
  }
  if (req.disabled !== undefined) patch.disabled = req.disabled
  if (req.role !== undefined) patch.role = req.role
  if (req.password !== undefined) {
    ctx.passwords.checkPolicy(req.password, req.username ?? target.username)
    patch.password_hash = await ctx.passwords.hash(req.password)
  }
  if (Object.keys(patch).length === 0) return target

  const row = await ctx.db.transaction().execute(async (trx) => {
    const before = await lockUserById(trx, id)
    if (before === undefined) throw new NotFound('no such user')
    const row = await updateUser(trx, id, patch)
    // A new password ends every other session: whoever knew the old one is
    // out. The event names them, so gateways keep the caller's own sockets.
    // Disabling ends them all, the same way.
    const ended = row.disabled && !before.disabled
      ? await revokeUserSessions(trx, id, 'disabled')
      : patch.password_hash !== undefined
        ? await revokeUserSessions(trx, id, 'password_changed', self ? caller.sessionId : undefined)
        : []
    await appendEvent(trx, 'updated', row)
    await appendSessionsRevoked(trx, row, ended)
    await auditChanges(trx, { actorId: caller.userId, userId: id, ip: ip ?? null }, before, row, patch, ended.length)
    return row
  })
  ctx.eventsWritten()
  return row
}

/**
 * The user row goes, and with it (ON DELETE CASCADE) their sessions, refresh
 * tokens and keys. A user deleting themself proves it with currentPassword,
 * counted as a sign-in attempt from `ip`.
 */
export async function deleteUserAccount (ctx: UsersContext, caller: Caller, id: string, currentPassword: string | undefined, ip: string | undefined): Promise<void> {
  const self = caller.userId === id
  if (!self && caller.role !== 'admin') throw new Forbidden('only the user themself or an admin may delete a user')
  if (self && currentPassword === undefined) throw new CurrentPasswordRequired('deleting your account needs currentPassword')
  const target = await findUserById(ctx.db, id)
  if (target === undefined) throw new NotFound('no such user')
  if (self) await checkCurrentPassword(ctx, target, currentPassword ?? '', ip)

  await ctx.db.transaction().execute(async (trx) => {
    const row = await lockUserById(trx, id)
    if (row === undefined) throw new NotFound('no such user')
    await deleteUser(trx, id)
    await appendEvent(trx, 'deleted', row)
    await insertAuditEntry(trx, { action: 'user.deleted', actorId: caller.userId, userId: id, ip: ip ?? null, details: { by: self ? 'self' : 'admin' } })
  })
  ctx.eventsWritten()
}
