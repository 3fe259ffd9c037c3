import t, { type Test } from 'tap'
import pg from 'pg'
import { jetstreamManager } from '@nats-io/jetstream'
import type { MsgHdrs } from '@nats-io/transport-node'
import { until } from '@metadome/testing'
import type { Ack } from '@metadome/contracts'
import { startStack } from '@metadome/e2e'
import { PASSWORD, signUp, type TestUser } from './helpers/users.js'
import { newCanary, scan, spellings } from './helpers/canary.js'

// The proof of DESIGN.md "End-to-end encryption": users of the SDK exchange
// texts holding a fresh random canary through the real services (auth-api,
// message-writer, two chat-gateways; real PostgreSQL and NATS). Everything
// the server side saw is recorded: every NATS message on the namespace
// (headers and payload, live, and the request/reply answers), both streams read back afterwards, every row
// of every table in the auth and chat schemas, every log line of every app
// (at debug level). The canary must be in none of it, in any spelling, while
// the recipients did decrypt it. Canaries planted on purpose in each kind of
// record must be found, so a scanner that sees nothing cannot pass.
//
// It runs on a one-to-one pair and a group of three (Carol, Dave and Alice),
// across both gateways.

const stack = await startStack(t, { gateways: 2 })

interface Record { source: string, text: string }
const nats: Record[] = []

const headerText = (h: MsgHdrs | undefined): string =>
  h === undefined ? '' : h.keys().map((k) => `${k}: ${h.values(k).join(', ')}`).join('\n')

// Recording starts before the first user exists.
const recorder = stack.nats.nc.subscribe(`${stack.ns}.>`, {
  callback: (_err, msg) => {
    nats.push({ source: `nats ${msg.subject}`, text: `${headerText(msg.headers)}\n${Buffer.from(msg.data).toString('utf8')}` })
  }
})
// Request/reply answers (history from message-writer) travel outside the
// namespace, on each app's own inbox prefix (_INBOX_chat-gateway.…).
const replies = stack.nats.nc.subscribe(`_INBOX_chat-gateway.>`, {
  callback: (_err, msg) => {
    nats.push({ source: `nats ${msg.subject}`, text: `${headerText(msg.headers)}\n${Buffer.from(msg.data).toString('utf8')}` })
  }
})
t.teardown(() => {
  recorder.unsubscribe()
  replies.unsubscribe()
})

const canary = newCanary('canary')
t.comment(`canary ${canary}`)

const [g1, g2] = stack.gatewayUrls as [string, string]
const alice = await signUp(t, stack, 'alice', { gatewayUrl: g1 })
const bob = await signUp(t, stack, 'bob', { gatewayUrl: g2 })
const carol = await signUp(t, stack, 'carol', { gatewayUrl: g2 })
const dave = await signUp(t, stack, 'dave', { gatewayUrl: g1 })

const acks: Ack[] = []
const exchange = async (t: Test, from: TestUser, to: TestUser, text: string): Promise<void> => {
  const before = to.inbox.texts.length
  acks.push(await from.client.sendText({ to: to.id }, text))
  const got = await to.inbox.waitFor(before + 1)
  t.equal(got.at(-1)?.text, text, `${to.username} decrypted what ${from.username} sent`)
}

t.test('the recipients decrypt texts that carry the canary', async (t) => {
  await exchange(t, alice, bob, `hello bob, the word is ${canary}`)
  await exchange(t, bob, alice, `${canary}`)
  await exchange(t, alice, bob, `and once more: ${canary.toUpperCase()} / ${canary}!`)
  // A group: each text is encrypted for every device of every other member.
  const group = await carol.client.createGroup('proof', [dave.id, alice.id])
  await until(async () => (await dave.client.conversations()).some((c) => c.id === group.id), 15_000, 'Dave to be in the group')
  const toGroup = async (from: TestUser, others: TestUser[], text: string): Promise<void> => {
    const before = others.map((u) => u.inbox.texts.length)
    acks.push(await from.client.sendText({ conversationId: group.id }, text))
    for (const [i, u] of others.entries()) {
      const got = await u.inbox.waitFor((before[i] ?? 0) + 1)
      t.equal(got.at(-1)?.text, text, `${u.username} decrypted what ${from.username} sent to the group`)
    }
  }
  await toGroup(carol, [dave, alice], `dave, alice: ${canary}`)
  await toGroup(dave, [carol, alice], `carol, ${canary} back to you`)
  for (const u of [alice, bob, carol, dave]) t.same(u.inbox.rejected, [], `${u.username} rejected nothing`)
  t.ok([alice, bob, carol, dave].every((u) => u.inbox.texts.every((e) => e.text.includes(canary) || e.text.includes(canary.toUpperCase()))))

  // History goes through message-writer's RPC and PostgreSQL: its replies are recorded too.
  const page = await until(async () => {
    const p = await bob.client.history(bob.client.directConversationId(alice.id))
    return p.items.length === 3 && p
  }, 15_000, 'the writer to store the conversation')
  t.ok(page.items.every((i) => i.text?.includes(canary) === true), 'history decrypts too')
})

t.test('the canary is nowhere on the server side, and planted ones are found', async (t) => {
  // --- Plant canaries, one per kind of record, spelled differently.
  const planted = {
    displayName: newCanary('pdn'),
    nats: newCanary('pnats'),
    log: newCanary('plog'),
    clearBody: newCanary('pbody')
  }
  // A display name is not end-to-end encrypted: it lands in auth.users, the outbox and USERS.
  const login = await (await fetch(`${stack.authUrl}/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: carol.username, password: PASSWORD })
  })).json() as { accessToken: string }
  const patched = await fetch(`${stack.authUrl}/v1/users/${carol.id}`, {
    method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` }, body: JSON.stringify({ displayName: planted.displayName })
  })
  t.equal(patched.status, 200)
  // A raw NATS message, base64 at an odd offset.
  stack.nats.nc.publish(`${stack.ns}.proof.planted`, Buffer.concat([Buffer.from([7]), Buffer.from(planted.nats)]).toString('base64'))
  // A log line, hex.
  stack.gateways[0]?.app.log.info({ note: Buffer.from(planted.log).toString('hex') }, 'planted by the proof')
  // A client that does not encrypt: its plain body is stored as is.
  const base = g1.replace('ws://', 'http://').replace('/v1/ws', '')
  const cleartext = await fetch(`${base}/v1/conversations/${alice.client.directConversationId(dave.id)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenOf(alice)}` },
    body: JSON.stringify({ id: crypto.randomUUID(), body: { text: `x${Buffer.from(planted.clearBody).toString('base64url')}` } })
  })
  t.equal(cleartext.status, 201)
  const clearAck = await cleartext.json() as Ack

  // --- Let everything settle: the writer stored every message, the outbox published the update.
  const sql = new pg.Pool({ connectionString: stack.databaseUrl, max: 1 })
  t.teardown(async () => { await sql.end() })
  const allIds = [...acks.map((a) => a.id), clearAck.id]
  await until(async () => {
    const { rows } = await sql.query<{ n: string }>('select count(*) as n from chat.messages where id = any($1::uuid[])', [allIds])
    return Number(rows[0]?.n) === allIds.length
  }, 15_000, 'message-writer to store every message')
  await until(() => nats.some((r) => r.text.includes(planted.displayName)), 15_000, 'the USERS event of the display name change')
  await stack.nats.nc.flush()

  // --- Collect: the NATS recording, both streams, every table, every log line.
  const corpus: Record[] = [...nats]
  const jsm = await jetstreamManager(stack.nats.nc)
  for (const name of [`${stack.ns}_CHAT`, `${stack.ns}_USERS`]) {
    const info = await jsm.streams.info(name)
    let n = 0
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq })
      if (m === null) continue
      n++
      corpus.push({ source: `stream ${name} #${seq}`, text: `${m.subject}\n${headerText(m.header)}\n${Buffer.from(m.data).toString('utf8')}` })
    }
    t.ok(n > 0, `read ${n} messages of ${name}`)
  }
  const { rows: tables } = await sql.query<{ s: string, t: string }>(
    "select table_schema as s, table_name as t from information_schema.tables where table_schema in ('auth', 'chat') and table_type = 'BASE TABLE' order by 1, 2")
  t.ok(tables.some((x) => x.s === 'auth') && tables.some((x) => x.s === 'chat'), `tables of both schemas: ${tables.map((x) => `${x.s}.${x.t}`).join(', ')}`)
  let rowCount = 0
  for (const { s, t: table } of tables) {
    // row_to_json spells bytea as \x<hex>, which the hex spelling covers.
    const { rows } = await sql.query<{ row: string }>(`select row_to_json(x)::text as row from "${s}"."${table}" x`)
    rowCount += rows.length
    for (const r of rows) corpus.push({ source: `table ${s}.${table}`, text: r.row })
  }
  const logs = stack.apps.flatMap((app) => app.logs.lines.map((line) => ({ source: `log ${app.name}`, text: line })))
  corpus.push(...logs)
  t.comment(`scanned ${nats.length} NATS messages, ${rowCount} rows in ${tables.length} tables, ${logs.length} log lines`)

  // --- The records did see the encrypted messages (so finding nothing means something).
  for (const ack of acks) {
    t.ok(nats.some((r) => r.source.startsWith('nats ') && r.text.includes(ack.id)), `NATS carried message ${ack.id}`)
    t.ok(corpus.some((r) => r.source.startsWith('table chat.') && r.text.includes(ack.id)), `PostgreSQL holds message ${ack.id}`)
    t.ok(corpus.some((r) => r.source.startsWith(`stream ${stack.ns}_CHAT`) && r.text.includes(ack.id)), `the CHAT stream holds message ${ack.id}`)
  }
  t.ok(corpus.some((r) => r.source.startsWith('table chat.') && r.text.includes('ciphertext')), 'stored bodies are envelopes')
  t.ok(nats.some((r) => r.source.startsWith(`nats _INBOX_chat-gateway.`) && acks.some((a) => r.text.includes(a.id))), 'a history reply was recorded')
  // message-writer logs little below warn when all goes well; the others log every request.
  for (const app of stack.apps.filter((a) => a.name !== 'message-writer')) t.ok(app.logs.lines.length > 0, `${app.name} logged`)

  // --- The proof.
  t.same(scan(canary, corpus), [], 'the canary is in no NATS message, stream, row or log line, as text, hex, base64 or base64url')

  // --- And the scanner can fail.
  // (Each is looked for where it must be; being found elsewhere too is no failure of the scanner.)
  const sources = (c: string): Set<string> => new Set(scan(c, corpus).map((f) => f.source.split(' ')[0] ?? ''))
  const foundIn = (c: string, expected: string[]): boolean => expected.every((e) => sources(c).has(e))
  t.ok(foundIn(planted.displayName, ['nats', 'stream', 'table']), 'a display name (plain by design) is found in NATS, USERS and auth.users')
  t.ok(foundIn(planted.nats, ['nats']), 'base64 in a NATS payload is found')
  t.ok(foundIn(planted.log, ['log']), 'hex in a log line is found')
  t.ok(foundIn(planted.clearBody, ['nats', 'stream', 'table']), 'base64url in an unencrypted body is found in NATS, CHAT and chat.messages')
  t.ok(spellings(canary).includes(Buffer.from(canary).toString('hex')), 'the spellings include hex')
})

async function tokenOf (user: TestUser): Promise<string> {
  const res = await fetch(`${stack.authUrl}/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password: PASSWORD })
  })
  return (await res.json() as { accessToken: string }).accessToken
}
