import t from 'tap'
import WebSocket from 'ws'
import { chatSubjects, directConversationId } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { say } from '../helpers/rest.js'

// A reconnect storm: a gateway restarts and every client it held comes back
// at once — here 2,000 sockets (100 users with 20 each, the most one user
// may have) opened in the same instant. Each is authenticated and made
// ready (the membership of each user loaded once, however many of their
// sockets arrive together), and a conversation between two others carries
// on through it. Users who had conversations before the storm are
// subscribed to them again: their memberships come from the writer, many
// users to a request (conversations.membershipsOf).

const USERS = 100
const SOCKETS_PER_USER = 20

let readies = 0

/** Opens a socket and resolves with how it ended up: 'ready', or the close code. */
async function storm (url: string, token: string): Promise<{ ws: WebSocket, outcome: string }> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })
  const outcome = await new Promise<string>((resolve) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string }
      if (frame.type === 'ready') { readies++; resolve('ready') }
    })
    ws.on('close', (code) => { resolve(`closed ${code}`) })
    ws.on('error', (err) => { resolve(`error ${err.message}`) })
  })
  return { ws, outcome }
}

t.test(`${USERS * SOCKETS_PER_USER} sockets at once all become ready, and others keep talking meanwhile`, async (t) => {
  const s = await startStack(t)
  const [alice, bob] = await Promise.all([s.user(), s.user()])
  const users = await Promise.all(Array.from({ length: USERS }, async () => await s.user()))
  const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
  const B = await TestSocket.ready(s.a.wsUrl, s.jwks.token(bob))
  t.teardown(() => { A.close(); B.close() })
  const dm = directConversationId(alice, bob)
  // Alice writes to the first users before the storm, and the writer stores it.
  const talked = users.slice(0, 10)
  let lastSeq = 0
  for (const user of talked) lastSeq = await say(A, directConversationId(alice, user), { text: 'before' })
  await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= lastSeq, 30_000, 'the writer to store them')
  // A copy of every batched memberships request (outside the writers' queue group).
  const batchSizes: number[] = []
  s.nats.nc.subscribe(chatSubjects(s.nats.ns).rpc('conversations.membershipsOf'), {
    callback: (err, msg) => { if (err === null) batchSizes.push((msg.json<{ userIds: string[] }>()).userIds.length) }
  })
  let singles = 0
  s.nats.nc.subscribe(chatSubjects(s.nats.ns).rpc('conversations.memberships'), { callback: (err) => { if (err === null) singles++ } })
  await s.nats.nc.flush()

  // Interleaved, as clients come back after a restart: every user's first socket, then every user's second...
  const tokens = users.map((user) => s.jwks.token(user))
  const sockets = Promise.all(Array.from({ length: SOCKETS_PER_USER }).flatMap(() => tokens.map(async (token) => await storm(s.a.wsUrl, token))))
  // Mid-storm (once the first hundred are in): the conversation already on the gateway goes on.
  await until(() => readies >= 100, 30_000, 'the storm to begin')
  await say(A, dm, { text: 'during the storm' })
  t.ok(await B.next('message', () => true, 30_000), 'a message between two others is relayed during the storm')

  const opened = await sockets
  t.teardown(() => { for (const { ws } of opened) ws.terminate() })
  const outcomes = new Map<string, number>()
  for (const { outcome } of opened) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
  t.same(Object.fromEntries(outcomes), { ready: USERS * SOCKETS_PER_USER }, 'every socket of the storm is ready')

  await say(B, dm, { text: 'after it' })
  t.ok(await A.next('message'), 'and after it')

  // Each of the users Alice wrote to gets her next message on all 20 sockets.
  const received = new Map<string, number>()
  const ofTalked = opened.filter((_, i) => i % USERS < talked.length)
  const all = Promise.all(ofTalked.map(async ({ ws }, i) => await new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string, message?: { body?: { text?: string } } }
      if (frame.type !== 'message' || frame.message?.body?.text !== 'after') return
      const user = talked[i % talked.length] as string
      received.set(user, (received.get(user) ?? 0) + 1)
      resolve()
    })
  })))
  for (const user of talked) await say(A, directConversationId(alice, user), { text: 'after' })
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 20_000))])
  t.same([...received.values()], talked.map(() => SOCKETS_PER_USER), 'their conversations were loaded for every socket')
  const requests = batchSizes.length + singles
  // One request per user would be USERS; how many fewer depends on how close together they arrive.
  t.ok(requests < USERS, `the storm's ${USERS} users' memberships were asked for in ${requests} requests (batches of ${batchSizes.join(', ')}; ${singles} alone), not one per user`)
  const [first] = opened
  first?.ws.send(JSON.stringify({ type: 'ping', ref: 'p' }))
  t.ok(await new Promise((resolve) => first?.ws.once('message', (data) => { resolve(JSON.parse(data.toString()).type === 'pong') })), 'a storm socket is served')
})
