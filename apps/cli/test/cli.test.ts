import t, { type Test } from 'tap'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ChatClient } from '@metadome/client'
import { FileKeyStore } from '@metadome/client/node'
import { until } from '@metadome/testing'
import { startStack } from '@metadome/e2e'
import { cliEnv, newHome, run, start, watch } from './helpers/cli.js'
import { inboxOf } from './helpers/inbox.js'

// The terminal client, spawned as a user runs it (`metadome …`), against the
// real services started in this process on free ports.

// Every command is a fresh Node process running TypeScript: slow on a busy machine.
t.setTimeout(300_000)
const stack = await startStack(t, { gateways: 2 })
const PASSWORD = 'correct horse battery staple'
const name = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`

interface Person { username: string, home: string, env: NodeJS.ProcessEnv, id: string }

async function person (t: Test, prefix: string): Promise<Person> {
  const username = name(prefix)
  const home = await newHome(t)
  const env = cliEnv(stack, home, { METADOME_PASSWORD: PASSWORD })
  const r = await run(env, ['register', username])
  t.equal(r.code, 0, `register ${username}: ${r.stderr}`)
  t.match(r.stdout, `registered ${username}`)
  t.match(r.stdout, `signed in as ${username}`)
  const id = /\(([0-9a-f-]{36})\)/.exec(r.stdout)?.[1] ?? ''
  await stack.known(id)
  return { username, home, env, id }
}

t.test('register, send and read: the recipient\'s own keys decrypt what the CLI sent', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')

  const sent = await run(alice.env, ['send', bob.username, 'hello', 'from', 'the', 'terminal'])
  t.equal(sent.code, 0, sent.stderr)
  t.match(sent.stdout, new RegExp(`^sent to ${bob.username} \\(seq \\d+\\)\\n$`))

  // Bob's device, from the keys the CLI keeps in his config folder.
  const bobClient = await ChatClient.resume({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, userId: bob.id, keyStore: new FileKeyStore(join(bob.home, 'store')) })
  t.teardown(async () => { await bobClient.close() })
  // History is what message-writer stored, which may trail the ack.
  const page = await until(async () => {
    const p = await bobClient.history(bobClient.directConversationId(alice.id))
    return p.items.length > 0 && p
  }, 15_000, 'the writer to store the message')
  t.same(page.items.map((i) => i.text), ['hello from the terminal'])

  const users = await run(alice.env, ['users', bob.username.slice(0, 6)])
  t.equal(users.code, 0)
  t.match(users.stdout, bob.username)
})

t.test('verify prints the same safety number on both sides, in groups of five digits', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')
  const a = await run(alice.env, ['verify', bob.username])
  const b = await run(bob.env, ['verify', alice.username])
  t.equal(a.code, 0, a.stderr)
  t.equal(b.code, 0, b.stderr)
  const digits = (out: string): string => (out.match(/^ {4}(\d{5} {2}){3}\d{5}$/gm) ?? []).join('|')
  t.equal(digits(a.stdout).split('|').length, 3, 'three lines of four groups')
  t.equal(digits(a.stdout), digits(b.stdout))
})

t.test('private keys and session tokens are in files only their owner can read', async (t) => {
  const alice = await person(t, 'alice')
  t.equal((await stat(alice.home)).mode & 0o777, 0o700)
  const storeDir = join(alice.home, 'store')
  t.equal((await stat(storeDir)).mode & 0o777, 0o700)
  const files = await readdir(storeDir)
  t.ok(files.some((f) => f.endsWith('.device.json')), 'device keys')
  t.ok(files.some((f) => f.endsWith('.account.json')), 'the account key')
  t.ok(files.some((f) => f.endsWith('.session.json')), 'the session')
  for (const f of [...files.map((f) => join(storeDir, f)), join(alice.home, 'config.json')]) {
    t.equal((await stat(f)).mode & 0o777, 0o600, `${f} is 0600`)
  }
})

t.test('chat: history, a message typed in, a message received live, read receipts', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')
  t.equal((await run(bob.env, ['send', alice.username, 'earlier message'])).code, 0)

  const bobClient = await ChatClient.resume({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, userId: bob.id, keyStore: new FileKeyStore(join(bob.home, 'store')), connect: false })
  t.teardown(async () => { await bobClient.close() })
  const bobInbox = inboxOf(bobClient)
  const receipts: number[] = []
  bobClient.on('receipt', (r) => { if (r.kind === 'read') receipts.push(r.seq) })
  await bobClient.connect()

  const chat = start(alice.env, ['chat', bob.username])
  const screen = watch(chat)
  await screen.waitFor(`chatting with ${bob.username}`)
  t.match(screen.out(), `${bob.username}: earlier message`, 'history is shown')

  chat.stdin.write('hi bob, typed in the chat\n')
  await screen.waitFor('me: hi bob, typed in the chat')
  const [got] = await bobInbox.waitFor(1)
  t.equal(got?.text, 'hi bob, typed in the chat')

  const ack = await bobClient.sendText({ to: alice.id }, 'live reply')
  await screen.waitFor(`${bob.username}: live reply`)
  await new Promise<void>((resolve) => {
    const check = (): void => { if (receipts.includes(ack.seq)) resolve(); else bobClient.once('receipt', check) }
    check()
  })
  t.ok(receipts.includes(ack.seq), 'alice\'s chat sent a read receipt for it')

  bobClient.typing(bobClient.directConversationId(alice.id))
  await screen.waitFor(`${bob.username} is typing`)

  chat.stdin.end('/quit\n')
  const code = await new Promise<number | null>((resolve) => chat.on('close', resolve))
  t.equal(code, 0)
})

t.test('a wrong password: one clear line, exit 1', async (t) => {
  const alice = await person(t, 'alice')
  const r = await run({ ...alice.env, METADOME_PASSWORD: 'not the password' }, ['login', alice.username])
  t.equal(r.code, 1)
  t.equal(r.stderr, 'metadome: wrong username or password\n')
})

t.test('an unreachable server: one clear line, exit 1', async (t) => {
  const home = await newHome(t)
  const env = cliEnv(undefined, home, { METADOME_PASSWORD: PASSWORD, METADOME_AUTH_URL: 'http://127.0.0.1:1', METADOME_GATEWAY_URL: 'ws://127.0.0.1:1/v1/ws' })
  const r = await run(env, ['login', 'alice'])
  t.equal(r.code, 1)
  t.match(r.stderr, /^metadome: cannot reach the server: http:\/\/127\.0\.0\.1:1 .*\n$/)
  t.equal(r.stderr.split('\n').length, 2, 'one line')
})

t.test('a contact\'s changed key: sending stops with one clear line until trust', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')
  t.equal((await run(alice.env, ['send', bob.username, 'first'])).code, 0)

  // Bob starts over on another machine with new keys.
  const bobElsewhere = { ...bob.env, METADOME_HOME: await newHome(t) }
  const relog = await run(bobElsewhere, ['login', bob.username])
  t.equal(relog.code, 1, 'the account key is on the first machine')
  t.match(relog.stderr, '--new-keys')
  t.equal((await run(bobElsewhere, ['login', bob.username, '--new-keys'])).code, 0)

  const refused = await run(alice.env, ['send', bob.username, 'second'])
  t.equal(refused.code, 1)
  t.equal(refused.stderr, `metadome: ${bob.username}'s account key changed: compare safety numbers with \`metadome verify ${bob.username}\`, then run \`metadome trust ${bob.username}\`\n`)
  const verify = await run(alice.env, ['verify', bob.username])
  t.match(verify.stdout, 'account key changed')
  t.equal((await run(alice.env, ['trust', bob.username])).code, 0)
  const sent = await run(alice.env, ['send', bob.username, 'second'])
  t.equal(sent.code, 0, sent.stderr)
})

t.test('group create, send, add, remove and leave; logout ends the session', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')
  const carol = await person(t, 'carol')
  const g = await run(alice.env, ['group', 'create', 'friends', bob.username])
  t.equal(g.code, 0, g.stderr)
  const id = /\(([0-9a-f-]{36})\)/.exec(g.stdout)?.[1] as string
  t.ok(id, g.stdout)
  const sent = await until(async () => {
    const r = await run(alice.env, ['send', id, 'hello friends'])
    return r.code === 0 && r
  }, 15_000, 'the group to be stored')
  t.match(sent.stdout, `sent to group ${id}`)
  const refused = await run(bob.env, ['group', 'add', id, carol.username])
  t.equal(refused.code, 1, 'a member adds nobody')
  t.match(refused.stderr, /^metadome: only the owner and admins/)
  t.equal((await run(alice.env, ['group', 'add', id, carol.username])).stdout, 'added\n')
  t.equal((await run(alice.env, ['group', 'remove', id, carol.username])).stdout, 'removed\n')
  t.equal((await run(bob.env, ['group', 'leave', id])).stdout, 'left\n')

  const out = await run(alice.env, ['logout'])
  t.equal(out.code, 0, out.stderr)
  const after = await run(alice.env, ['send', bob.username, 'hi'])
  t.equal(after.code, 2)
  t.match(after.stderr, /^metadome: not signed in/)
})

t.test('block, blocks and unblock: a blocked user cannot send to the one who blocked them', async (t) => {
  const alice = await person(t, 'alice')
  const mallory = await person(t, 'mallory')
  const first = await until(async () => { const r = await run(mallory.env, ['send', alice.username, 'hi']); return r.code === 0 && r }, 15_000, 'a first message')
  t.ok(first)
  const blocked = await run(alice.env, ['block', mallory.username])
  t.equal(blocked.code, 0, blocked.stderr)
  t.match(blocked.stdout, `blocked ${mallory.username}`)
  t.match((await run(alice.env, ['blocks'])).stdout, new RegExp(`^${mallory.username}  \\(since \\d{4}-\\d\\d-\\d\\d\\)\\n$`))
  const refused = await run(mallory.env, ['send', alice.username, 'still here'])
  t.equal(refused.code, 1, 'the send is refused')
  t.match(refused.stderr, /does not accept your messages/)
  t.equal((await run(alice.env, ['unblock', mallory.username])).stdout, `unblocked ${mallory.username}\n`)
  t.equal((await run(alice.env, ['blocks'])).stdout, 'you blocked no one\n')
  const again = await until(async () => { const r = await run(mallory.env, ['send', alice.username, 'sorry']); return r.code === 0 && r }, 15_000, 'sending again after the unblock')
  t.ok(again, 'after the unblock mallory sends again')
})

t.test('without METADOME_HOME the config folder is $XDG_CONFIG_HOME/metadome', async (t) => {
  const xdg = await newHome(t)
  const env = cliEnv(stack, xdg, { METADOME_PASSWORD: PASSWORD, XDG_CONFIG_HOME: xdg })
  delete env.METADOME_HOME
  const username = name('xdg')
  const r = await run(env, ['register', username])
  t.equal(r.code, 0, r.stderr)
  t.equal((await stat(join(xdg, 'metadome', 'config.json'))).mode & 0o777, 0o600)
  t.ok((await readdir(join(xdg, 'metadome', 'store'))).some((f) => f.endsWith('.device.json')))
})

t.test('an unknown command prints the usage and exits 2', async (t) => {
  const r = await run(cliEnv(undefined, await newHome(t)), ['frobnicate'])
  t.equal(r.code, 2)
  t.match(r.stderr, /^metadome: unknown command "frobnicate"\n\nusage: metadome <command>/)
})

t.test('conversations: newest activity first with unread counts; chat <group> by its title; reading clears the count', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')
  const carol = await person(t, 'carol')
  t.equal((await run(bob.env, ['send', alice.username, 'one'])).code, 0)
  t.equal((await run(bob.env, ['send', alice.username, 'two'])).code, 0)
  const g = await run(alice.env, ['group', 'create', 'Book Club', bob.username, carol.username])
  t.equal(g.code, 0, g.stderr)
  const id = /\(([0-9a-f-]{36})\)/.exec(g.stdout)?.[1] as string
  await until(async () => (await run(carol.env, ['send', id, 'hello club'])).code === 0, 15_000, 'the group to be stored')

  // The counts are the writer's, which may trail the acks.
  const listed = await until(async () => {
    const r = await run(alice.env, ['conversations'])
    return r.code === 0 && r.stdout.includes('1 unread') && r.stdout.includes('2 unread') && r.stdout
  }, 15_000, 'the writer to count the unread messages')
  const lines = listed.trimEnd().split('\n')
  t.equal(lines.length, 2, listed)
  t.match(lines[0], new RegExp(`^Book Club +group, 3 members +1 unread +${id}$`), 'the group, where the newest message is')
  t.match(lines[1], new RegExp(`^${bob.username} +direct +2 unread$`))

  // The words of the title, unquoted and in another case.
  const chat = await run(alice.env, ['chat', 'book', 'CLUB'], 'hi club\n')
  t.equal(chat.code, 0, chat.stderr)
  t.match(chat.stdout, `${carol.username}: hello club`, 'history names the sender')
  t.match(chat.stdout, '— chatting in Book Club (3 members')
  t.match(chat.stdout, 'me: hi club')

  const bobClient = await ChatClient.resume({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, userId: bob.id, keyStore: new FileKeyStore(join(bob.home, 'store')) })
  t.teardown(async () => { await bobClient.close() })
  const page = await until(async () => {
    const p = await bobClient.history(id)
    return p.items.length === 2 && p
  }, 15_000, 'the writer to store alice\'s message')
  t.same(page.items.map((i) => i.text), ['hi club', 'hello club'], 'a member\'s device opens what the chat sent')

  // The chat marked carol's message read.
  const after = await until(async () => {
    const first = (await run(alice.env, ['conversations'])).stdout.split('\n')[0] ?? ''
    return !first.includes('unread') && first
  }, 15_000, 'the read receipt to be stored')
  t.match(after, new RegExp(`^Book Club +group, 3 members +${id}$`))
})

t.test('chat <name> that several groups, or a user and a group, answer to: refused, naming each with how to pick it', async (t) => {
  const alice = await person(t, 'alice')
  const bob = await person(t, 'bob')
  const ids: string[] = []
  for (const title of ['twins', 'Twins', bob.username]) {
    const g = await run(alice.env, ['group', 'create', title, bob.username])
    t.equal(g.code, 0, g.stderr)
    ids.push(/\(([0-9a-f-]{36})\)/.exec(g.stdout)?.[1] as string)
  }

  const twins = await run(alice.env, ['chat', 'twins'])
  t.equal(twins.code, 1)
  // Listed as `conversations` lists them: the newer first.
  t.equal(twins.stderr, `metadome: "twins" could be the group "Twins" (${ids[1]}, 2 members), the group "twins" (${ids[0]}, 2 members): name the group by its id\n`)

  const both = await run(alice.env, ['chat', bob.username])
  t.equal(both.code, 1)
  t.equal(both.stderr, `metadome: "${bob.username}" could be the user ${bob.username}, the group "${bob.username}" (${ids[2]}, 2 members): name a group by its id, the user as @${bob.username}\n`)

  const byId = await run(alice.env, ['chat', ids[1] as string], 'to the second twin\n')
  t.equal(byId.code, 0, byId.stderr)
  t.match(byId.stdout, '— chatting in Twins (2 members')
  const user = await run(alice.env, ['chat', `@${bob.username}`], 'to bob himself\n')
  t.equal(user.code, 0, user.stderr)
  t.match(user.stdout, `— chatting with ${bob.username} (`)

  const none = await run(alice.env, ['chat', 'nobody here'])
  t.equal(none.code, 1)
  t.equal(none.stderr, 'metadome: no user named nobody here and none of your groups is titled "nobody here"\n')
})
