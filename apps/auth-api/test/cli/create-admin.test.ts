import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { entryArgs } from '@metadome/testing'
import { build, signUp, signIn, PASSWORD } from '../helper.js'

const ENTRY = fileURLToPath(new URL('../../src/cli/create-admin.ts', import.meta.url))

async function createAdmin (args: string[], env: Record<string, string>, stdin: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [...entryArgs(ENTRY), ...args], {
    env: { PATH: process.env.PATH ?? '', BCRYPT_COST: '4', ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  child.stdin.end(stdin)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout, stderr }
}

t.test('create-admin makes a new admin from a piped password, who can then act on others', async (t) => {
  const { app, config } = await build(t)
  const env = { DATABASE_URL: config.DATABASE_URL }
  const res = await createAdmin(['root', '--email', 'root@example.com'], env, `${PASSWORD}\n`)
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /^created admin root \(/)
  t.notMatch(res.stdout + res.stderr, PASSWORD)

  const root = await signIn(app, 'root')
  const bob = await signUp(app, 'bob')
  const del = await app.inject({ method: 'DELETE', url: `/v1/users/${bob.id}`, headers: root.auth })
  t.equal(del.statusCode, 204, 'an admin may delete another user')
  const events = await app.authDb.selectFrom('outbox').select('type').orderBy('seq').execute()
  t.equal(events[0]?.type, 'registered', 'the admin\'s registration is an event like any other')
})

t.test('create-admin promotes an existing user without asking a password', async (t) => {
  const { app, config } = await build(t)
  const carol = await signUp(app, 'carol')
  const res = await createAdmin(['CAROL'], { DATABASE_URL: config.DATABASE_URL }, '')
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /carol .* is now an admin/)
  const row = await app.authDb.selectFrom('users').select('role').where('id', '=', carol.id).executeTakeFirstOrThrow()
  t.equal(row.role, 'admin')
  const again = await createAdmin(['carol'], { DATABASE_URL: config.DATABASE_URL }, '')
  t.match(again.stdout, /already an admin/)
})

t.test('create-admin refuses a weak password, a bad username and a missing argument', async (t) => {
  const { config } = await build(t)
  const env = { DATABASE_URL: config.DATABASE_URL }
  const weak = await createAdmin(['dave'], env, 'password1\n')
  t.equal(weak.code, 1)
  t.match(weak.stderr, /weak_password/)
  const bad = await createAdmin(['no spaces allowed'], env, `${PASSWORD}\n`)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /username/)
  const usage = await createAdmin([], env, '')
  t.equal(usage.code, 64)
  t.match(usage.stderr, /^usage: create-admin/)
})
