import type { UserTable } from './user.table.js'

/** The `chat` schema; every table of message-writer, by name. */
export interface ChatDatabase {
  users: UserTable
}

export const CHAT_SCHEMA = 'chat'
