import type { UserTable } from './user.table.js'

/** The `auth` schema; every table of auth-api, by name. */
export interface AuthDatabase {
  users: UserTable
}

export const AUTH_SCHEMA = 'auth'
