import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// Conversations, their members, messages and read cursors: what the writer
// stores from the CHAT stream and serves to gateways over request/reply.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  // last_seq only grows (updated with greatest()), so concurrent batches from
  // several replicas commute.
  await db.schema.createTable('conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('direct', 'group')`))
    .addColumn('title', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()

  // A membership is a seq interval of the CHAT stream: a member sees messages
  // with joined_seq < seq <= left_seq (left_seq null: still a member). Direct
  // conversations' two members join at 0. Groups (issue 5) set both from the
  // membership events ordered in the same stream.
  await db.schema.createTable('members')
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member').check(sql`role in ('admin', 'member')`))
    .addColumn('joined_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('left_seq', 'bigint')
    .addPrimaryKeyConstraint('members_pk', ['conversation_id', 'user_id'])
    .execute()
  // "My conversations" and the since-query start from the user.
  await db.schema.createIndex('members_user').on('members').columns(['user_id', 'conversation_id']).execute()

  // sender_id is not a foreign key: a deleted user's messages stay. seq is the
  // CHAT stream sequence, unique because a stream sequence is one message.
  await db.schema.createTable('messages')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull().unique())
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('sender_id', 'uuid', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    .execute()
  // History pages (newest first, before a seq) and since-queries (after a seq,
  // per conversation of the user) are both range scans of this index.
  await db.schema.createIndex('messages_conversation_seq').on('messages').columns(['conversation_id', 'seq desc']).execute()

  await db.schema.createTable('read_cursors')
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('read_cursors_pk', ['conversation_id', 'user_id'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('read_cursors').execute()
  await db.schema.dropTable('messages').execute()
  await db.schema.dropTable('members').execute()
  await db.schema.dropTable('conversations').execute()
}
