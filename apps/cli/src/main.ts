import { parseArgs } from 'node:util'
import { Accounts, ChatClient, isChatClientError } from '@metadome/client'
import type { User } from '@metadome/contracts'
import { Home, homeDir, type CliConfig } from './home.js'
import { describe, UsageError } from './errors.js'
import { readPassword } from './password.js'
import { runChat } from './chat.js'
import { chatTarget } from './chat-target.js'
import { inbox } from './inbox.js'
import { mfa as mfaCommand, password as passwordCommand, sessions as sessionsCommand, signInTokens, type AccountsCommandContext } from './accounts.js'

// `metadome`: the terminal client, on the SDK. Each command is one function;
// failures print one line on stderr and exit 1 (2 for a usage mistake).

const USAGE = `usage: metadome <command> [options]

  register <username> [--display-name <name>]   create an account and sign in on this device
  login <username> [--new-keys]                  sign in on this device (keys made on first login)
  logout                                         end the session on the server and here
  whoami                                         the signed-in account
  users [query]                                  list users (prefix of username or display name)
  send <user|group-id> <text...>                 send one message; exits 0 once the server stored it
  conversations                                  your conversations, newest activity first, with unread counts
  chat <user|group>                              chat interactively (history, live, typing, read receipts);
                                                 a group by its id or its whole title (any case, quotes
                                                 optional); a name that is both a user and a title, or
                                                 several titles, is refused with the candidates listed
                                                 (@name is always the user)
  verify <user>                                  show the safety number to compare with <user>
  trust <user>                                   accept <user>'s current account key after verifying it
  group create <title> <user...> | add <group> <user> | remove <group> <user> | leave <group>
  block <user> | unblock <user>                  stop (or let again) <user> messaging you or adding you to groups
  blocks                                         the users you blocked
  mfa enable | disable                           two-factor sign-in with an authenticator app (TOTP)
  password forgot <username|email>               mail a reset link; password reset <token|link> sets a new one
  sessions [revoke <session-id>]                 where you are signed in; end one of them

options:
  --server <url>      auth-api (default http://127.0.0.1:3000; or METADOME_AUTH_URL)
  --gateway <url>     chat-gateway, ws(s)://host/v1/ws or http(s)://host, repeatable
                      (default ws://127.0.0.1:3001/v1/ws; or METADOME_GATEWAY_URL, comma-separated)
  --password <pw>     else METADOME_PASSWORD, else asked (or read from stdin)
  --code <code>       a TOTP or recovery code, for login and mfa; else asked (or read from stdin)

config and keys: $METADOME_HOME, else $XDG_CONFIG_HOME/metadome, else ~/.config/metadome`

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface Context {
  home: Home
  config: CliConfig
  positionals: string[]
  values: { 'display-name'?: string, 'new-keys'?: boolean, password?: string, code?: string }
  /** The contact the command is about, for error messages. */
  who?: string
}

async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      gateway: { type: 'string', multiple: true },
      password: { type: 'string' },
      code: { type: 'string' },
      'display-name': { type: 'string' },
      'new-keys': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  const [command, ...rest] = positionals
  if (command === undefined || values.help === true || command === 'help') {
    console.log(USAGE)
    return command === undefined && values.help !== true ? 2 : 0
  }
  const env = process.env
  const gatewayUrls = values.gateway ?? (env.METADOME_GATEWAY_URL !== undefined && env.METADOME_GATEWAY_URL !== '' ? env.METADOME_GATEWAY_URL.split(',') : undefined)
  const authUrl = values.server ?? (env.METADOME_AUTH_URL !== undefined && env.METADOME_AUTH_URL !== '' ? env.METADOME_AUTH_URL : undefined)
  const home = new Home(homeDir())
  const config = await home.config({ ...(authUrl !== undefined && { authUrl }), ...(gatewayUrls !== undefined && { gatewayUrls }) })
  const ctx: Context = { home, config, positionals: rest, values }
  try {
    await run(command, ctx)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`metadome: ${err.message}\n\n${USAGE}`)
      return 2
    }
    console.error(`metadome: ${describe(err, { authUrl: config.authUrl, ...(ctx.who !== undefined && { who: ctx.who }) })}`)
    return 1
  }
}

async function run (command: string, ctx: Context): Promise<void> {
  switch (command) {
    case 'register': return await register(ctx)
    case 'login': return await login(ctx)
    case 'logout': return await logout(ctx)
    case 'whoami': return await whoami(ctx)
    case 'users': return await users(ctx)
    case 'send': return await send(ctx)
    case 'conversations': return await conversations(ctx)
    case 'chat': return await chat(ctx)
    case 'verify': return await verify(ctx)
    case 'trust': return await trust(ctx)
    case 'group': return await group(ctx)
    case 'block': return await block(ctx, true)
    case 'unblock': return await block(ctx, false)
    case 'blocks': return await blocks(ctx)
    case 'mfa': return await mfaCommand(accountsContext(ctx))
    case 'password': return await passwordCommand(accountsContext(ctx))
    case 'sessions': return await sessionsCommand(accountsContext(ctx), connectOptions(ctx))
    default: throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  }
}

function arg (ctx: Context, index: number, name: string): string {
  const v = ctx.positionals[index]
  if (v === undefined || v === '') throw new UsageError(`missing <${name}>`)
  return v
}

const connectOptions = (ctx: Context) => ({ authUrl: ctx.config.authUrl, gatewayUrl: ctx.config.gatewayUrls, keyStore: ctx.home.store })

const accountsContext = (ctx: Context): AccountsCommandContext =>
  ({ authUrl: ctx.config.authUrl, store: ctx.home.store, userId: ctx.config.userId, positionals: ctx.positionals, values: ctx.values })

/**
 * Signs in on this device: the password, and a code if the account asks for
 * one, give tokens that the client then resumes. With --new-keys the client
 * gets the password too, since replacing the account key needs it.
 */
async function signIn (ctx: Context, username: string, password: string): Promise<void> {
  const tokens = await signInTokens(ctx.config.authUrl, username, password, ctx.values.code)
  await Accounts.keep(ctx.home.store, tokens)
  const newKeys = ctx.values['new-keys'] === true
  const client = await ChatClient.resume({ ...connectOptions(ctx), userId: tokens.user.id, connect: false, ...(newKeys && { newKeys, password }) })
  try {
    await ctx.home.save({ authUrl: ctx.config.authUrl, gatewayUrls: ctx.config.gatewayUrls, userId: client.userId, username: client.user.username })
    console.log(`signed in as ${client.user.username} (device ${client.deviceId})`)
  } finally {
    await client.close()
  }
}

async function register (ctx: Context): Promise<void> {
  const username = arg(ctx, 0, 'username')
  const password = await readPassword(ctx.values.password, { confirm: true })
  const displayName = ctx.values['display-name']
  const user = await ChatClient.register({ authUrl: ctx.config.authUrl, username, password, ...(displayName !== undefined && { displayName }) })
  console.log(`registered ${user.username} (${user.id})`)
  await signIn(ctx, username, password)
}

async function login (ctx: Context): Promise<void> {
  const username = arg(ctx, 0, 'username')
  await signIn(ctx, username, await readPassword(ctx.values.password))
}

/** The signed-in client; `connect` opens the socket (only commands that chat need it). */
async function resume (ctx: Context, connect: boolean): Promise<ChatClient> {
  const userId = ctx.config.userId
  if (userId === undefined) throw new UsageError('not signed in: run `metadome login <username>` first')
  return await ChatClient.resume({ ...connectOptions(ctx), userId, connect })
}

async function withClient<T> (ctx: Context, connect: boolean, use: (client: ChatClient) => Promise<T>): Promise<T> {
  const client = await resume(ctx, connect)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

async function logout (ctx: Context): Promise<void> {
  if (ctx.config.userId === undefined) {
    console.log('not signed in')
    return
  }
  try {
    const client = await resume(ctx, false)
    await client.logout()
  } catch (err) {
    // A session that already ended is as good as logged out.
    if (!isChatClientError(err, 'session_ended') && !isChatClientError(err, 'not_signed_in')) throw err
  }
  const { userId: _userId, username, ...rest } = ctx.config
  await ctx.home.save(rest)
  console.log(`signed out${username === undefined ? '' : ` ${username}`}`)
}

async function whoami (ctx: Context): Promise<void> {
  await withClient(ctx, false, async (client) => {
    console.log(`${client.user.username} (${client.userId}) on ${ctx.config.authUrl}`)
  })
}

function line (u: User): string {
  return u.displayName === u.username ? `${u.username}  ${u.id}` : `${u.username}  (${u.displayName})  ${u.id}`
}

async function users (ctx: Context): Promise<void> {
  const q = ctx.positionals[0]
  await withClient(ctx, false, async (client) => {
    const page = await client.users({ ...(q !== undefined && { q }), limit: 100 })
    for (const u of page.items) console.log(line(u))
    if (page.nextCursor !== null) console.log('… more: narrow it down with a query')
  })
}

async function contact (ctx: Context, client: ChatClient, index: number): Promise<User> {
  const name = arg(ctx, index, 'user')
  ctx.who = name
  return await client.findUser(name)
}

async function send (ctx: Context): Promise<void> {
  arg(ctx, 0, 'user')
  const text = ctx.positionals.slice(1).join(' ')
  if (text === '') throw new UsageError('missing <text>')
  const target = ctx.positionals[0] as string
  await withClient(ctx, true, async (client) => {
    // A group is named by its id: a UUID is longer than any username can be.
    if (UUID.test(target)) {
      const ack = await client.sendText({ conversationId: target }, text)
      console.log(`sent to group ${target} (seq ${ack.seq})`)
      return
    }
    const to = await contact(ctx, client, 0)
    const ack = await client.sendText({ to: to.id }, text)
    console.log(`sent to ${to.username} (seq ${ack.seq})`)
  })
}

async function conversations (ctx: Context): Promise<void> {
  await withClient(ctx, true, async (client) => {
    for (const l of await inbox(client)) console.log(l)
  })
}

async function chat (ctx: Context): Promise<void> {
  // The words of a title need no quotes: `chat book club`.
  const name = ctx.positionals.join(' ').trim()
  if (name === '') throw new UsageError('missing <user|group>')
  ctx.who = name.replace(/^@/, '')
  const client = await resume(ctx, false)
  try {
    await runChat(client, async () => await chatTarget(client, name))
  } finally {
    await client.close()
  }
}

async function verify (ctx: Context): Promise<void> {
  await withClient(ctx, false, async (client) => {
    const other = await contact(ctx, client, 0)
    const n = await client.safetyNumber(other.id)
    const groups = n.formatted.split(' ')
    console.log(`safety number with ${other.username}:\n`)
    for (let i = 0; i < groups.length; i += 4) console.log(`    ${groups.slice(i, i + 4).join('  ')}`)
    console.log(`\ncompare it with ${other.username} in person or over a call: the same digits mean no one is in between.`)
    if (n.changed) {
      console.log(`\nwarning: ${other.username}'s account key changed since you first saw it. If the digits match, run \`metadome trust ${other.username}\`.`)
    }
  })
}

async function trust (ctx: Context): Promise<void> {
  await withClient(ctx, false, async (client) => {
    const other = await contact(ctx, client, 0)
    await client.trust(other.id)
    console.log(`trusting ${other.username}'s current account key`)
  })
}

async function block (ctx: Context, blocked: boolean): Promise<void> {
  await withClient(ctx, false, async (client) => {
    const other = await contact(ctx, client, 0)
    if (blocked) await client.block(other.id)
    else await client.unblock(other.id)
    console.log(blocked ? `blocked ${other.username}: they cannot message you or add you to groups` : `unblocked ${other.username}`)
  })
}

async function blocks (ctx: Context): Promise<void> {
  await withClient(ctx, false, async (client) => {
    const list = await client.blocks()
    if (list.length === 0) console.log('you blocked no one')
    for (const b of list) {
      const user = await client.getUser(b.userId).catch(() => undefined)
      console.log(`${user?.username ?? b.userId}  (since ${b.since.slice(0, 10)})`)
    }
  })
}

async function group (ctx: Context): Promise<void> {
  const [sub, ...args] = ctx.positionals
  const sub1: Context = { ...ctx, positionals: args }
  await withClient(ctx, false, async (client) => {
    const ids = async (names: string[]): Promise<string[]> => await Promise.all(names.map(async (n) => (await client.findUser(n)).id))
    switch (sub) {
      case 'create': {
        const title = arg(sub1, 0, 'title')
        const members = args.slice(1)
        if (members.length === 0) throw new UsageError('missing <user...>')
        const c = await client.createGroup(title, await ids(members))
        console.log(`created group ${title} (${c.id})`)
        return
      }
      case 'add':
        await client.addMember(arg(sub1, 0, 'group'), (await ids([arg(sub1, 1, 'user')]))[0] as string)
        console.log('added')
        return
      case 'remove':
        await client.removeMember(arg(sub1, 0, 'group'), (await ids([arg(sub1, 1, 'user')]))[0] as string)
        console.log('removed')
        return
      case 'leave':
        await client.leaveGroup(arg(sub1, 0, 'group'))
        console.log('left')
        return
      default:
        throw new UsageError('group create|add|remove|leave')
    }
  })
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`metadome: ${err instanceof Error ? err.message : String(err)}`)
  return err instanceof TypeError && /option|argument/i.test(err.message) ? 2 : 1
})
