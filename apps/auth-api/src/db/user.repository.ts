import { sql, type Kysely, type Transaction } from 'kysely'
import type { AuthDatabase } from './database.js'
import type { NewUserRow, UserRow, UserUpdate } from './user.table.js'
import { EmailTaken, UsernameTaken } from '../errors.js'

type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>

/** Maps a unique violation on username or email to its 409. */
function conflict (err: unknown): never {
  const e = err as { code?: string, constraint?: string }
  if (e.code === '23505' && e.constraint === 'users_username_lower') throw new UsernameTaken()
  if (e.code === '23505' && e.constraint === 'users_email_lower') throw new EmailTaken()
  throw err
}

export async function findUserById (db: Db, id: string): Promise<UserRow | undefined> {
  return await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Locks the row until the transaction ends (updates and deletes of one user queue up). */
export async function lockUserById (trx: Transaction<AuthDatabase>, id: string): Promise<UserRow | undefined> {
  return await trx.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export async function findUserByUsername (db: Db, username: string): Promise<UserRow | undefined> {
  return await db.selectFrom('users').selectAll().where(sql`lower(username)`, '=', username.toLowerCase()).executeTakeFirst()
}

export async function insertUser (trx: Transaction<AuthDatabase>, user: NewUserRow): Promise<UserRow> {
  return await trx.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow().catch(conflict)
}

export async function updateUser (trx: Transaction<AuthDatabase>, id: string, patch: UserUpdate): Promise<UserRow> {
  return await trx.updateTable('users').set({ ...patch, updated_at: new Date() }).where('id', '=', id)
    .returningAll().executeTakeFirstOrThrow().catch(conflict)
}

export async function deleteUser (trx: Transaction<AuthDatabase>, id: string): Promise<void> {
  await trx.deleteFrom('users').where('id', '=', id).execute()
}

export interface ListOptions {
  limit: number
  /** lower(username) of the last user of the previous page. */
  after?: string
  q?: string
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`)

/**
 * Ordered by lower(username) in byte order, which is unique: keyset pages
 * ("after this name") neither skip nor repeat anyone however many users are
 * added or removed meanwhile.
 */
export async function listUsers (db: Db, opts: ListOptions): Promise<UserRow[]> {
  const key = sql<string>`lower(username) collate "C"`
  let query = db.selectFrom('users').selectAll()
  if (opts.after !== undefined) query = query.where(key, '>', sql<string>`${opts.after} collate "C"`)
  if (opts.q !== undefined) {
    const prefix = `${escapeLike(opts.q.toLowerCase())}%`
    query = query.where((eb) => eb.or([
      eb(key, 'like', prefix),
      eb(sql<string>`lower(display_name) collate "C"`, 'like', prefix)
    ]))
  }
  return await query.orderBy(key).limit(opts.limit).execute()
}
