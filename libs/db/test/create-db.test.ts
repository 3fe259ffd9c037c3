import t from 'tap'
import pg from 'pg'
import { sql } from 'kysely'
import { createTestDatabase, until } from '@metadome/testing'
import { createDb } from '../src/create-db.js'

// A PostgreSQL restart ends every connection, including one checked out in
// the middle of a transaction. That client's 'error' event used to have no
// listener (pg-pool removes its own on checkout) and took the process down.

t.test('a connection lost inside a transaction fails that transaction, not the process', async (t) => {
  const url = await createTestDatabase(t)
  const db = createDb<Record<string, never>>({ url, schema: 'public', maxConnections: 2, applicationName: 'lost-connection-test' })
  t.teardown(async () => { await db.destroy() })
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  t.teardown(async () => { await admin.end() })

  const uncaught: unknown[] = []
  const onUncaught = (err: unknown): void => { uncaught.push(err) }
  process.on('uncaughtException', onUncaught)
  t.teardown(() => { process.off('uncaughtException', onUncaught) })

  const outcome = db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
    const pid = rows[0]?.pid
    // The backend goes while the transaction waits between two queries.
    await admin.query('select pg_terminate_backend($1)', [pid])
    await new Promise((resolve) => setTimeout(resolve, 200))
    await sql`select 1`.execute(trx)
  })
  await t.rejects(outcome, 'the transaction fails')
  t.same(uncaught, [], 'no uncaught error')
  const answer = await until(async () => await sql<{ one: number }>`select 1 as one`.execute(db).then((r) => r.rows[0]?.one).catch(() => undefined), 5_000, 'a query on a fresh connection')
  t.equal(answer, 1, 'the pool goes on with a new connection')
})
