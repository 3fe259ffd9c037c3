import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createTestDatabase, migrateApp } from '@metadome/testing'

// deploy/postgres/roles.sql: auth-api and message-writer as their own
// PostgreSQL roles, each allowed its own schema only. Each runs its
// migrations as its role; the writer's role cannot read auth.users (password
// hashes) nor auth's sessions, and auth's cannot read chat's messages.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PASSWORDS = { auth: 'auth-role-secret', chat: 'chat-role-secret' }

function as (url: string, user: string, password: string): string {
  const u = new URL(url)
  u.username = user
  u.password = password
  return u.toString()
}

async function query (url: string, text: string): Promise<{ rows?: unknown[], code?: string }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return { rows: (await client.query(text)).rows }
  } catch (err) {
    return { code: (err as { code?: string }).code }
  } finally {
    await client.end()
  }
}

t.test('each app as its own role, allowed its own schema only', async (t) => {
  // Roles are global to the server: dropped once the test database (whose objects they own) is gone.
  t.teardown(async () => {
    const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
    await query(admin, 'drop role if exists metadome_auth')
    await query(admin, 'drop role if exists metadome_chat')
  })
  const url = await createTestDatabase(t)
  const roles = spawnSync('psql', [url, '-q', '-v', `auth_password=${PASSWORDS.auth}`, '-v', `chat_password=${PASSWORDS.chat}`, '-f', join(root, 'deploy/postgres/roles.sql')], { encoding: 'utf8' })
  t.equal(roles.status, 0, `roles.sql runs: ${roles.stderr}`)
  const again = spawnSync('psql', [url, '-q', '-v', `auth_password=${PASSWORDS.auth}`, '-v', `chat_password=${PASSWORDS.chat}`, '-f', join(root, 'deploy/postgres/roles.sql')], { encoding: 'utf8' })
  t.equal(again.status, 0, `and again: ${again.stderr}`)

  const authUrl = as(url, 'metadome_auth', PASSWORDS.auth)
  const chatUrl = as(url, 'metadome_chat', PASSWORDS.chat)
  await migrateApp('auth-api', authUrl)
  await migrateApp('message-writer', chatUrl)

  t.ok((await query(authUrl, 'select count(*) from auth.users')).rows, 'auth-api reads its users')
  t.ok((await query(chatUrl, 'select count(*) from chat.messages')).rows, 'the writer reads its messages')
  for (const table of ['auth.users', 'auth.sessions', 'auth.refresh_tokens']) {
    const res = await query(chatUrl, `select * from ${table} limit 1`)
    t.equal(res.code, '42501', `the writer's role cannot read ${table} (permission denied)`)
  }
  t.equal((await query(authUrl, 'select * from chat.messages limit 1')).code, '42501', 'auth-api\'s role cannot read chat.messages')
  t.equal((await query(chatUrl, 'create table public.stash (x int)')).code, '42501', 'nor create tables outside its schema')
  t.equal((await query(chatUrl, 'drop schema auth cascade')).code, '42501', 'nor drop the other schema')
})
