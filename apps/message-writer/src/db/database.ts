import type { UserTable } from './user.table.js'
import type { ConversationTable } from './conversation.table.js'
import type { MemberTable } from './member.table.js'
import type { MessageTable } from './message.table.js'
import type { ReadCursorTable } from './read-cursor.table.js'
import type { ConversationEventTable } from './conversation-event.table.js'
import type { MemberPeriodTable } from './member-period.table.js'
import type { DeadLetteredEventTable } from './dead-lettered-event.table.js'
import type { BlockTable } from './block.table.js'

/** The `chat` schema; every table of message-writer, by name. */
export interface ChatDatabase {
  users: UserTable
  conversations: ConversationTable
  members: MemberTable
  messages: MessageTable
  read_cursors: ReadCursorTable
  conversation_events: ConversationEventTable
  member_periods: MemberPeriodTable
  dead_lettered_events: DeadLetteredEventTable
  blocks: BlockTable
}

export const CHAT_SCHEMA = 'chat'
