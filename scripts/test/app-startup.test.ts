import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { entryArgs, repoRoot } from '@metadome/testing'

// Each app started alone, as an operator runs it: a wrong or missing variable
// stops it with one line naming the variable, and no stack trace.

async function run (entry: string, env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, entryArgs(join(repoRoot, entry)), {
    // Only what the case sets: nothing from the developer's own environment.
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stderr }
}

const DB = 'postgres://postgres@127.0.0.1:5432/postgres'
const cases: Array<[string, string, Record<string, string>, RegExp]> = [
  ['auth-api', 'apps/auth-api/src/server.ts', {}, /^configuration error: DATABASE_URL is required/],
  ['message-writer', 'apps/message-writer/src/server.ts', {}, /^configuration error: DATABASE_URL is required/],
  // An empty variable counts as unset (what `npm start` takes for "embed one").
  ['auth-api', 'apps/auth-api/src/server.ts', { DATABASE_URL: '' }, /^configuration error: DATABASE_URL is required/],
  ['message-writer', 'apps/message-writer/src/server.ts', { DATABASE_URL: '' }, /^configuration error: DATABASE_URL is required/],
  ['auth-api', 'apps/auth-api/src/server.ts', { DATABASE_URL: DB, PORT: 'eighty' }, /^configuration error: PORT is invalid \(got "eighty"\)/],
  ['chat-gateway', 'apps/chat-gateway/src/server.ts', { PORT: '99999' }, /^configuration error: PORT is invalid/],
  ['chat-gateway', 'apps/chat-gateway/src/server.ts', { NATS_URL: 'http://127.0.0.1:4222' }, /^configuration error: NATS_URL is invalid/],
  ['message-writer', 'apps/message-writer/src/server.ts', { DATABASE_URL: DB, NATS_URL: 'nats://a b' }, /^configuration error: NATS_URL is invalid/],
  ['auth-api', 'apps/auth-api/src/migrate.ts', {}, /^configuration error: DATABASE_URL is required/]
]

for (const [app, entry, env, message] of cases) {
  // A valid DATABASE_URL is left out of the name: it is there only to get past it.
  const named = Object.entries(env).filter(([k, v]) => k !== 'DATABASE_URL' || v === '')
  const what = Object.keys(env).length === 0 ? 'without DATABASE_URL' : `with ${named.map(([k, v]) => `${k}=${v}`).join(' ')}`
  t.test(`${entry.split('/').pop() ?? entry} of ${app} refuses to start ${what}`, async (t) => {
    const { code, stderr } = await run(entry, env)
    t.equal(code, 78, 'exit code 78 (EX_CONFIG)')
    t.match(stderr, message)
    t.equal(stderr.trim().split('\n').length, 1, 'one line')
  })
}

t.test('an app whose database is unreachable says so in one line and exits 1', async (t) => {
  const { code, stderr } = await run('apps/auth-api/src/server.ts', {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    LOG_LEVEL: 'silent'
  })
  t.equal(code, 1)
  t.match(stderr, /^failed to start: .*ECONNREFUSED/)
  t.equal(stderr.trim().split('\n').length, 1)
})
