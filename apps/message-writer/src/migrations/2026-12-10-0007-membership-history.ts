import { sql, type Kysely } from 'kysely'

// Frozen: never edit a migration that has shipped; add a new one.
// The writer refuses a group message whose sender was not a member at its
// seq. members holds one window per user and a member added again gets it
// overwritten, so it cannot answer for a message from an earlier window
// (checked late: redelivered, or behind a batch of events). member_periods
// keeps every window, never overwritten.
//
// A message is decided only once every membership event of its group before
// it is settled. An event that was dead-lettered (refused, or not an event at
// all) is settled without a row in conversation_events; it is recorded in
// dead_lettered_events, by the conversation its subject names, so that the
// group's later messages do not wait for it forever.
export async function up (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations are untyped on purpose
  // A member at seq S: joined_seq < S and (left_seq is null or S < left_seq),
  // one index probe on the primary key.
  await db.schema.createTable('member_periods')
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('joined_seq', 'bigint', (c) => c.notNull())
    .addColumn('left_seq', 'bigint')
    .addPrimaryKeyConstraint('member_periods_pk', ['conversation_id', 'user_id', 'joined_seq'])
    .execute()
  // The windows known today. Earlier windows of members who were added again
  // are lost; their messages are stored already, and a redelivery of a
  // stored message is acked as a duplicate whatever its membership.
  await sql`insert into member_periods (conversation_id, user_id, joined_seq, left_seq)
    select m.conversation_id, m.user_id, m.joined_seq, m.left_seq
    from members m join conversations c on c.id = m.conversation_id
    where c.kind = 'group'`.execute(db)

  await db.schema.createTable('dead_lettered_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('dead_lettered_events_conversation').on('dead_lettered_events').columns(['conversation_id', 'seq']).execute()
}

export async function down (db: Kysely<any>): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see up()
  await db.schema.dropTable('dead_lettered_events').execute()
  await db.schema.dropTable('member_periods').execute()
}
