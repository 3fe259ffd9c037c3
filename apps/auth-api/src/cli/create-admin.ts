import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { loadConfigOrExit } from '@metadome/config'
import { createDb } from '@metadome/db'
import { AuthConfig } from '../config.js'
import { RegisterRequest } from '@metadome/contracts'
import { AUTH_SCHEMA, type AuthDatabase } from '../db/database.js'
import { findUserByUsername, updateUser } from '../db/user.repository.js'
import { appendEvent } from '../db/outbox.repository.js'
import { insertAuditEntry } from '../db/audit.repository.js'
import { createPasswords } from '../plugins/app/passwords.js'
import { registerUser } from '../services/users.js'

// npm run create-admin -w @metadome/auth-api -- <username> [--email <e>] [--display-name <n>]
//
// Makes <username> an admin: an existing user is promoted (no password
// asked); otherwise the user is created, with the password read from stdin
// (typed without echo on a terminal, or piped). Writes the same outbox event
// as the API would; a running auth-api publishes it. Run migrations first
// (npm run migrate -w @metadome/auth-api, or start auth-api once).

const Config = Type.Pick(AuthConfig, ['DATABASE_URL', 'BCRYPT_COST', 'UV_THREADPOOL_SIZE'])
const USAGE = 'usage: create-admin <username> [--email <address>] [--display-name <name>]   (password on stdin)'

async function readPassword (): Promise<string> {
  if (process.stdin.isTTY !== true) {
    const rl = createInterface({ input: process.stdin })
    for await (const line of rl) { rl.close(); return line }
    return ''
  }
  process.stderr.write('password for the new admin: ')
  process.stdin.setRawMode(true)
  process.stdin.resume()
  let password = ''
  for await (const chunk of process.stdin) {
    const text = (chunk as Buffer).toString('utf8')
    if (text === '\u0003') process.exit(130) // Ctrl-C
    if (text === '\r' || text === '\n') break
    password = text === '\u007f' ? password.slice(0, -1) : password + text
  }
  process.stdin.setRawMode(false)
  process.stdin.pause()
  process.stderr.write('\n')
  return password
}

async function main (): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: 'string' }, 'display-name': { type: 'string' } }
  })
  const username = positionals[0]
  if (username === undefined || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`)
    return 64 // EX_USAGE
  }
  const config = loadConfigOrExit(Config, process.env)
  const db = createDb<AuthDatabase>({ url: config.DATABASE_URL, schema: AUTH_SCHEMA, applicationName: 'auth-api create-admin' })
  try {
    const existing = await findUserByUsername(db, username)
    if (existing !== undefined) {
      if (existing.role === 'admin') {
        process.stdout.write(`${existing.username} (${existing.id}) is already an admin\n`)
        return 0
      }
      await db.transaction().execute(async (trx) => {
        const row = await updateUser(trx, existing.id, { role: 'admin' })
        await appendEvent(trx, 'updated', row)
        await insertAuditEntry(trx, { action: 'user.role_changed', actorId: null, userId: row.id, ip: null, details: { from: existing.role, to: 'admin', by: 'create-admin' } })
      })
      process.stdout.write(`${existing.username} (${existing.id}) is now an admin\n`)
      return 0
    }
    const password = await readPassword()
    const passwords = await createPasswords({ cost: config.BCRYPT_COST, threadPoolSize: config.UV_THREADPOOL_SIZE })
    const request = {
      username,
      password,
      ...(values.email !== undefined && { email: values.email }),
      ...(values['display-name'] !== undefined && { displayName: values['display-name'] })
    }
    // The same rules as POST /v1/users.
    const [invalid] = Value.Errors(RegisterRequest, request)
    if (invalid !== undefined) {
      process.stderr.write(`create-admin: ${invalid.instancePath.slice(1) || 'input'} ${invalid.message}\n`)
      return 1
    }
    const row = await registerUser({ db, passwords, eventsWritten: () => {} }, request, 'admin')
    process.stdout.write(`created admin ${row.username} (${row.id})\n`)
    return 0
  } catch (err) {
    const e = err as { code?: string, message?: string }
    process.stderr.write(`create-admin: ${e.code !== undefined ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`)
    return 1
  } finally {
    await db.destroy()
  }
}

process.exitCode = await main()
