import t, { type Test } from 'tap'
import { copyFile, writeFile } from 'node:fs/promises'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream } from '@nats-io/jetstream'
import { freePorts, httpStatus, startProcess, until, tempDir } from '@metadome/testing'
import { buildAuthApi, buildGateway, buildWriter, listen, signUp } from '@metadome/e2e'
import { inboxPrefix } from '@metadome/nats'
import { directConversationId } from '@metadome/contracts'
import WebSocket from 'ws'

// deploy/nats/permissions.conf on a real nats-server: a gateway's
// credentials cannot publish a user event, answer the writer's
// request/reply, purge a stream or empty one by changing its limits;
// no app's credentials read another's replies; and the whole stack (auth-api, a writer,
// a gateway, each as its own user) still registers, chats and makes groups.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PASSWORDS = { NATS_AUTH_API_PASSWORD: 'auth-api-secret', NATS_GATEWAY_PASSWORD: 'gateway-secret', NATS_WRITER_PASSWORD: 'writer-secret' }
const NS = 'metadome'

let url = ''

t.before(async () => {
  const dir = await tempDir(t, 'metadome-nats-perms-')
  const [port = 0, monitor = 0] = await freePorts(2)
  await copyFile(join(root, 'deploy/nats/permissions.conf'), join(dir, 'permissions.conf'))
  await writeFile(join(dir, 'server.conf'), [
    `listen: 127.0.0.1:${port}`,
    `http: 127.0.0.1:${monitor}`,
    `jetstream { store_dir: "${join(dir, 'store')}" }`,
    'include permissions.conf',
    ''
  ].join('\n'))
  const server = await startProcess({
    name: 'nats-server',
    command: process.env.NATS_SERVER_BIN ?? 'nats-server',
    args: ['-c', join(dir, 'server.conf')],
    env: { ...process.env, ...PASSWORDS },
    ready: async () => await httpStatus(`http://127.0.0.1:${monitor}/healthz`) === 200
  })
  t.teardown(async () => { await server.stop() })
  url = `nats://127.0.0.1:${port}`
})

async function as (t: Test, user: string, password: string): Promise<NatsConnection> {
  // Its replies where the app's own connection has them (libs/nats inboxPrefix).
  const nc = await connect({ servers: url, user, pass: password, timeout: 2_000, inboxPrefix: inboxPrefix(user) })
  t.teardown(async () => { await nc.close() })
  return nc
}

t.test('without credentials, or with a wrong password, nothing connects', async (t) => {
  await t.rejects(connect({ servers: url, timeout: 2_000, reconnect: false }), 'no user')
  await t.rejects(connect({ servers: url, user: 'chat-gateway', pass: 'guess', timeout: 2_000, reconnect: false }), 'a wrong password')
})

t.test('a gateway cannot publish a user event, answer the writer\'s RPC or purge a stream', async (t) => {
  const auth = await buildAuthApi(t, { NATS_URL: url, NATS_NAMESPACE: NS, NATS_USER: 'auth-api', NATS_PASSWORD: PASSWORDS.NATS_AUTH_API_PASSWORD })
  t.ok(auth.app, 'auth-api starts as its own user (it creates USERS)')
  const gateway = await as(t, 'chat-gateway', PASSWORDS.NATS_GATEWAY_PASSWORD)
  const errors: string[] = []
  void (async () => { for await (const s of gateway.status()) if (s.type === 'error') errors.push(String(s.error)) })()

  const js = jetstream(gateway)
  await t.rejects(js.publish(`${NS}.users.deleted`, JSON.stringify({ type: 'deleted', userId: 'victim' }), { timeout: 2_000 }), 'a forged user event is not stored')
  const rpc = gateway.subscribe(`${NS}.rpc.users.get`, { queue: 'writers' })
  const closed = await Promise.race([rpc.closed.then((err) => err ?? 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 3_000))])
  t.not(closed, 'still open', 'the subscription to the writer\'s RPC is refused')
  await until(async () => errors.some((e) => /permissions violation/i.test(e)) || undefined, 5_000, 'a permissions violation')
  t.ok(errors.some((e) => /publish to "metadome\.users\.deleted"/i.test(e)), 'the publish was refused by the server')
  t.ok(errors.some((e) => /subscription to "metadome\.rpc\.users\.get"/i.test(e)), 'and the subscription')
  const purge = await gateway.request('$JS.API.STREAM.PURGE.metadome_USERS', '', { timeout: 1_000 }).then(() => 'answered', () => 'refused')
  t.equal(purge, 'refused', 'purging USERS is refused')
  // An update to max_msgs 1 would empty the stream as a purge does; only its owner (auth-api) may update it.
  const usersInfo = async (): Promise<{ config?: { max_msgs?: number } }> =>
    await gateway.request('$JS.API.STREAM.INFO.metadome_USERS', '', { timeout: 2_000 }).then((m) => m.json())
  // auth-api creates USERS when it first relays an event; a gateway may create it when missing.
  const users = JSON.stringify({ name: 'metadome_USERS', subjects: ['metadome.users.>'] })
  if ((await usersInfo()).config === undefined) await gateway.request('$JS.API.STREAM.CREATE.metadome_USERS', users, { timeout: 2_000 })
  t.ok((await usersInfo()).config, 'USERS exists (a gateway may create it)')
  const update = await gateway.request('$JS.API.STREAM.UPDATE.metadome_USERS', JSON.stringify({ name: 'metadome_USERS', subjects: ['metadome.users.>'], max_msgs: 1 }), { timeout: 1_000 }).then(() => 'answered', () => 'refused')
  t.equal(update, 'refused', 'changing the limits of USERS is refused')
  t.equal((await usersInfo()).config?.max_msgs, -1, 'looking it up is allowed, and it is unchanged')
})

t.test('no app\'s credentials can read the replies meant for another', async (t) => {
  const auth = await as(t, 'auth-api', PASSWORDS.NATS_AUTH_API_PASSWORD)
  for (const subject of ['_INBOX.>', `${inboxPrefix('chat-gateway')}.>`, `${inboxPrefix('message-writer')}.>`]) {
    const sub = auth.subscribe(subject)
    const closed = await Promise.race([sub.closed.then((err) => String(err ?? 'closed')), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000))])
    t.match(closed, /permissions violation/i, `auth-api cannot subscribe to ${subject}`)
  }
  const own = auth.subscribe(`${inboxPrefix('auth-api')}.x`)
  await auth.flush()
  t.equal(own.isClosed(), false, 'its own replies it may')
})

t.test('the whole stack works with each app as its own NATS user', async (t) => {
  const shared = { NATS_URL: url, NATS_NAMESPACE: NS }
  const auth = await buildAuthApi(t, { ...shared, NATS_USER: 'auth-api', NATS_PASSWORD: PASSWORDS.NATS_AUTH_API_PASSWORD })
  const authUrl = await listen(auth.app)
  const writer = await buildWriter(t, { ...shared, DATABASE_URL: auth.config.DATABASE_URL, NATS_USER: 'message-writer', NATS_PASSWORD: PASSWORDS.NATS_WRITER_PASSWORD })
  t.ok(writer.app)
  const gw = await buildGateway(t, { ...shared, AUTH_URL: authUrl, NATS_USER: 'chat-gateway', NATS_PASSWORD: PASSWORDS.NATS_GATEWAY_PASSWORD })
  const gatewayUrl = await listen(gw.app)

  const alice = await signUp(auth.app, 'alice')
  const bob = await signUp(auth.app, 'bob')
  const open = async (token: string): Promise<{ ws: WebSocket, frames: Array<Record<string, unknown>> }> => {
    const ws = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${token}` } })
    const frames: Array<Record<string, unknown>> = []
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>))
    t.teardown(() => { ws.close() })
    await until(() => frames.some((f) => f.type === 'ready') || undefined, 10_000, 'ready')
    return { ws, frames }
  }
  const A = await open(alice.accessToken)
  const B = await open(bob.accessToken)
  // bob is known to the writer through USERS, which auth-api published as its user.
  await until(async () => {
    A.ws.send(JSON.stringify({ type: 'send', id: crypto.randomUUID(), to: bob.id, body: { t: 'hi' }, ref: 'try' }))
    return await until(() => A.frames.find((f) => f.ref === 'try' && (f.type === 'ack' || f.type === 'error')), 5_000, 'an answer').then((f) => {
      A.frames.splice(A.frames.indexOf(f), 1)
      return f.type === 'ack' ? f : undefined
    })
  }, 20_000, 'a direct message acked')
  const conversationId = directConversationId(alice.id, bob.id)
  const got = await until(() => B.frames.find((f) => f.type === 'message'), 10_000, 'bob gets it')
  t.equal((got.message as { conversationId: string }).conversationId, conversationId, 'a direct message goes from alice to bob')

  const group = await fetch(`${gatewayUrl}/v1/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'perms', members: [bob.id] })
  })
  t.equal(group.status, 201, 'a group is made (writer RPC, a CHAT change with compare-and-set)')
  const history = await fetch(`${gatewayUrl}/v1/conversations/${conversationId}/messages`, { headers: { authorization: `Bearer ${bob.accessToken}` } })
  t.equal(history.status, 200, 'history comes from the writer')
  await until(async () => (await fetch(`${gatewayUrl}/v1/conversations`, { headers: { authorization: `Bearer ${bob.accessToken}` } }).then(async (r) => await r.json() as { items: unknown[] })).items.length === 2 || undefined, 10_000, 'both stored')
  for (const [name, built] of [['auth-api', auth], ['message-writer', writer], ['chat-gateway', gw]] as const) {
    t.same(built.logs.lines.filter((l) => /permissions violation/i.test(l)), [], `${name} was refused nothing it does`)
  }
})
