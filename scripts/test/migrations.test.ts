import t from 'tap'
import { sql } from 'kysely'
import { createDb, migrateToLatest } from '@metadome/db'
import { createTestDatabase } from '@metadome/testing'
import { migrations as authMigrations } from '@metadome/auth-api/migrations'
import { migrations as chatMigrations } from '@metadome/message-writer/migrations'

// Both apps' schemas in one database, as `npm start` runs them.

t.test('migrations run twice are a no-op, and two apps share one database without touching each other', async (t) => {
  const url = await createTestDatabase(t)
  const auth = createDb({ url, schema: 'auth' })
  const chat = createDb({ url, schema: 'chat' })
  t.teardown(async () => { await Promise.all([auth.destroy(), chat.destroy()]) })

  // Concurrently, as two apps starting at the same moment would.
  const [a1, c1] = await Promise.all([
    migrateToLatest(auth, 'auth', authMigrations),
    migrateToLatest(chat, 'chat', chatMigrations)
  ])
  t.equal(a1.results?.length, Object.keys(authMigrations).length)
  t.equal(c1.results?.length, Object.keys(chatMigrations).length)

  const a2 = await migrateToLatest(auth, 'auth', authMigrations)
  const c2 = await migrateToLatest(chat, 'chat', chatMigrations)
  t.same(a2.results, [], 'auth: nothing to do the second time')
  t.same(c2.results, [], 'chat: nothing to do the second time')

  // Each schema keeps its own migration bookkeeping and its own tables.
  const { rows } = await sql<{ table_schema: string, table_name: string }>`
    select table_schema, table_name from information_schema.tables
    where table_schema in ('auth', 'chat', 'public') order by 1, 2`.execute(auth)
  const bySchema = (schema: string): string[] => rows.filter((r) => r.table_schema === schema).map((r) => r.table_name)
  t.ok(bySchema('auth').includes('kysely_migration'))
  t.ok(bySchema('chat').includes('kysely_migration'))
  t.ok(bySchema('auth').includes('users'))
  t.ok(bySchema('chat').includes('users'))
  t.same(bySchema('public'), [], 'nothing lands in public')
  const names = await sql<{ name: string }>`select name from chat.kysely_migration`.execute(chat)
  t.same(names.rows.map((r) => r.name).sort(), Object.keys(chatMigrations).sort(), 'chat bookkeeping lists only chat migrations')
})
