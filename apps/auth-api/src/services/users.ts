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

/** The user as `viewer` may see them: email only for themself and admins. */
export function toUser (row: UserRow, viewer?: Pick<Caller, 'userId' | 'role'>): User {
  const user: User = {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
  if (viewer !== undefined && (viewer.userId === row.id || viewer.role === 'admin')) user.email = row.email
  return user
}

export async function registerUser (ctx: UsersContext, req: RegisterRequest, role: 'user' | 'admin' = 'user'): Promise<UserRow> {
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
    return row
  })
  ctx.eventsWritten()
  return row
}

/**
 * Self or admin; a user changing their own username or password proves it
 * with currentPassword, counted as a sign-in attempt from `ip`.
 */
export async function updateUserAccount (ctx: UsersContext, caller: Caller, id: string, req: UpdateUserRequest, ip: string | undefined): Promise<UserRow> {
  const self = caller.userId === id
  if (!self && caller.role !== 'admin') throw new Forbidden('only the user themself or an admin may change a user')
  const target = await findUserById(ctx.db, id)
  if (target === undefined) throw new NotFound('no such user')
  if (self && (req.username !== undefined || req.password !== undefined) && req.currentPassword === undefined) {
    throw new CurrentPasswordRequired('changing your username or password needs currentPassword')
  }
  if (self && req.currentPassword !== undefined) await checkCurrentPassword(ctx, target, req.currentPassword, ip)

  const patch: UserUpdate = {}
  if (req.username !== undefined) patch.username = req.username
  if (req.displayName !== undefined) patch.display_name = req.displayName
  if (req.email !== undefined) patch.email = req.email
  if (req.password !== undefined) {
    ctx.passwords.checkPolicy(req.password, req.username ?? target.username)
    patch.password_hash = await ctx.passwords.hash(req.password)
  }
  if (Object.keys(patch).length === 0) return target

  const row = await ctx.db.transaction().execute(async (trx) => {
    if (await lockUserById(trx, id) === undefined) throw new NotFound('no such user')
    const row = await updateUser(trx, id, patch)
    // A new password ends every other session: whoever knew the old one is
    // out. The event names them, so gateways keep the caller's own sockets.
    const ended = patch.password_hash !== undefined
      ? await revokeUserSessions(trx, id, 'password_changed', self ? caller.sessionId : undefined)
      : []
    await appendEvent(trx, 'updated', row)
    await appendSessionsRevoked(trx, row, ended)
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
  })
  ctx.eventsWritten()
}
