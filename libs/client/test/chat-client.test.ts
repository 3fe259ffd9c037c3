import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createServer, type Socket } from 'node:net'
import { jetstream } from '@nats-io/jetstream'
import { namespace } from '@metadome/nats'
import { chatSubjects, directConversationId, type Message } from '@metadome/contracts'
import { importDeviceKeys, sealEnvelope } from '@metadome/e2ee'
import { ChatClient, MemoryKeyStore, isChatClientError, storeNames, type KeyChange } from '../src/index.js'
import { until } from '@metadome/testing'
import { startStack } from '@metadome/e2e'
import { inboxOf, PASSWORD, signUp, username } from './helpers/users.js'
import { startSilentProxy } from './helpers/silent-proxy.js'

// The SDK against the real services: auth-api, message-writer and two
// chat-gateways in this process, on a fresh database and NATS namespace.

const stack = await startStack(t)

t.test('two users on different gateways exchange texts that each decrypts', async (t) => {
  const alice = await signUp(t, stack, 'alice', { gatewayUrl: stack.gatewayUrls[0] as string })
  const bob = await signUp(t, stack, 'bob', { gatewayUrl: stack.gatewayUrls[1] as string })

  const ack = await alice.client.sendText({ to: bob.id }, 'hello bob')
  t.equal(ack.conversationId, directConversationId(alice.id, bob.id), 'the ack names the direct conversation')
  const [got] = await bob.inbox.waitFor(1)
  t.equal(got?.text, 'hello bob')
  t.equal(got?.senderId, alice.id)
  t.equal(got?.message.id, ack.id)
  t.equal(got?.message.seq, ack.seq)
  t.equal(got?.deviceId, alice.client.deviceId)

  await bob.client.sendText({ conversationId: ack.conversationId }, 'hi alice')
  const [back] = await alice.inbox.waitFor(1)
  t.equal(back?.text, 'hi alice')
  t.equal(back?.senderId, bob.id)
  t.same(alice.inbox.rejected, [])
  t.same(bob.inbox.rejected, [])

  const conversations = await until(async () => {
    const list = await alice.client.conversations()
    return list.some((c) => c.id === ack.conversationId) && list
  }, 10_000, 'the writer to list the conversation')
  const direct = conversations.find((c) => c.id === ack.conversationId)
  t.equal(direct?.kind, 'direct')
  t.same([...(direct?.members ?? [])].sort(), [alice.id, bob.id].sort())
})

t.test('history comes back decrypted, this device\'s own texts included', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob')
  await alice.client.sendText({ to: bob.id }, 'one')
  await bob.inbox.waitFor(1)
  await bob.client.sendText({ to: alice.id }, 'two')
  await alice.inbox.waitFor(1)

  // History is what message-writer stored, which may trail the live feed.
  const page = await until(async () => {
    const p = await alice.client.history(alice.client.directConversationId(bob.id))
    return p.items.length === 2 && p
  }, 10_000, 'the writer to store both')
  t.same(page.items.map((i) => [i.senderId, i.text]), [[bob.id, 'two'], [alice.id, 'one']], 'newest first')
  const again = await bob.client.history(bob.client.directConversationId(alice.id))
  t.same(again.items.map((i) => i.text), ['two', 'one'], 'a message already shown live opens from memory, not as a replay')
})

t.test('a message reaches the sender\'s other device, and each device gets it once', async (t) => {
  const name = username('carol')
  const carolUser = await ChatClient.register({ authUrl: stack.authUrl, username: name, password: PASSWORD })
  await stack.known(carolUser.id)
  const dave = await signUp(t, stack, 'dave')

  const phoneStore = new MemoryKeyStore()
  const phone = await ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: name, password: PASSWORD, keyStore: phoneStore })
  t.teardown(async () => { await phone.close() })
  // The laptop gets the account key (as a user copies it over), not the phone's device keys.
  const laptopStore = new MemoryKeyStore()
  await laptopStore.set(storeNames(carolUser.id).account, await phoneStore.get(storeNames(carolUser.id).account))
  const laptop = await ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: name, password: PASSWORD, keyStore: laptopStore })
  t.teardown(async () => { await laptop.close() })
  t.not(laptop.deviceId, phone.deviceId, 'a second device')
  const list = await dave.client.deviceList(carolUser.id)
  t.same(list.deviceList.devices.map((d) => d.deviceId).sort(), [phone.deviceId, laptop.deviceId].sort(), 'both devices are in the signed list')
  t.equal(list.deviceList.version, 2)

  const laptopInbox = inboxOf(laptop)
  const phoneInbox = inboxOf(phone)
  await phone.sendText({ to: dave.id }, 'from my phone')
  const [onLaptop] = await laptopInbox.waitFor(1)
  t.equal(onLaptop?.text, 'from my phone', 'the laptop reads what the phone sent')
  t.equal(onLaptop?.deviceId, phone.deviceId)
  const [onDave] = await dave.inbox.waitFor(1)
  t.equal(onDave?.text, 'from my phone')

  await dave.client.sendText({ to: carolUser.id }, 'to both')
  await laptopInbox.waitFor(2)
  const [onPhone] = await phoneInbox.waitFor(1)
  t.equal(onPhone?.text, 'to both')
  t.same(laptopInbox.texts.map((e) => e.text), ['from my phone', 'to both'])
  t.same(phoneInbox.texts.map((e) => e.text), ['to both'], 'the phone does not hand its own message back as received')
})

t.test('a contact\'s new account key raises keyChanged, and nothing is sent to it until trusted', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob')
  await alice.client.sendText({ to: bob.id }, 'before')
  await bob.inbox.waitFor(1)
  const before = await alice.client.safetyNumber(bob.id)
  t.match(before.formatted, /^(\d{5} ){11}\d{5}$/)
  t.equal(before.digits, (await bob.client.safetyNumber(alice.id)).digits, 'both sides compute the same safety number')
  await bob.client.close()

  // Bob starts over on a new device with new keys.
  const bob2 = await ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: bob.username, password: PASSWORD, newKeys: true })
  t.teardown(async () => { await bob2.close() })
  const bob2Inbox = inboxOf(bob2)
  const changes: KeyChange[] = []
  alice.client.on('keyChanged', (c) => changes.push(c))

  await t.rejects(alice.client.sendText({ to: bob.id }, 'to the new key?'), { code: 'account_key_changed' })
  t.same(changes, [{ userId: bob.id, previousKey: before.accountKey, accountKey: bob2.accountKey }], 'one warning')
  const after = await alice.client.safetyNumber(bob.id)
  t.not(after.digits, before.digits, 'the safety number changed')
  t.equal(after.changed, true)

  await alice.client.trust(bob.id)
  await alice.client.sendText({ to: bob.id }, 'after trust')
  const [got] = await bob2Inbox.waitFor(1)
  t.equal(got?.text, 'after trust')
  t.equal((await alice.client.safetyNumber(bob.id)).changed, false)
})

t.test('a message that does not open is rejected with the failed check, never shown as text', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob')
  const ack = await alice.client.sendText({ to: bob.id }, 'genuine')
  const [genuine] = await bob.inbox.waitFor(1)

  // A client that skips the SDK posts through the gateway's REST route.
  const login = await (await fetch(`${stack.authUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: alice.username, password: PASSWORD }) })).json() as { accessToken: string }
  const post = async (body: Message['body']): Promise<void> => {
    const base = stack.gatewayUrls[0]?.replace('ws://', 'http://').replace('/v1/ws', '')
    const res = await fetch(`${base}/v1/conversations/${ack.conversationId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` },
      body: JSON.stringify({ id: randomUUID(), body })
    })
    t.equal(res.status, 201)
  }
  await post({ text: 'plain text, no envelope' })
  await post(genuine?.message.body ?? {})
  const rejected = await bob.inbox.waitForRejected(2)
  t.same(rejected.map((r) => r.code), ['bad_envelope', 'wrong_message'], 'the code names the check: a replayed envelope under a new id fails its binding')
  t.same(bob.inbox.texts.map((e) => e.text), ['genuine'])
})

t.test('a client that comes back gets what it missed once, in order, from its stored cursor', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bobStore = new MemoryKeyStore()
  const bob = await signUp(t, stack, 'bob', { keyStore: bobStore })
  await alice.client.sendText({ to: bob.id }, 'm1')
  await bob.inbox.waitFor(1)
  await bob.client.close()

  for (const text of ['m2', 'm3', 'm4']) await alice.client.sendText({ to: bob.id }, text)

  const again = await ChatClient.resume({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, userId: bob.id, keyStore: bobStore, connect: false })
  t.teardown(async () => { await again.close() })
  const inbox = inboxOf(again)
  await again.connect()
  await alice.client.sendText({ to: bob.id }, 'm5')
  const texts = await inbox.waitFor(4)
  t.same(texts.map((e) => e.text), ['m2', 'm3', 'm4', 'm5'], 'm1 is not handed over again')
  t.same(texts.map((e) => e.message.seq), [...texts.map((e) => e.message.seq)].sort((a, b) => a - b), 'in seq order')
})

t.test('a gateway that goes away: the client moves to another, resyncs, and loses or repeats nothing', async (t) => {
  const local = await startStack(t, { gateways: 2 })
  const bob = await signUp(t, local, 'bob', { reconnect: { minDelayMs: 10, maxDelayMs: 50 } })
  const index = local.gatewayUrls.indexOf(bob.client.gatewayUrl)
  t.ok(index >= 0, 'bob is on one of the two gateways')
  const other = local.gatewayUrls[1 - index] as string
  const alice = await signUp(t, local, 'alice', { gatewayUrl: other })
  await alice.client.sendText({ to: bob.id }, 'r1')
  await bob.inbox.waitFor(1)

  const disconnected = new Promise<{ code: number }>((resolve) => bob.client.once('disconnected', resolve))
  const resynced = new Promise<void>((resolve) => bob.client.once('synced', () => resolve()))
  await (local.gateways[index] as (typeof local.gateways)[number]).app.close()
  t.equal((await disconnected).code, 1012, 'the gateway says it is restarting')
  await alice.client.sendText({ to: bob.id }, 'r2')
  await alice.client.sendText({ to: bob.id }, 'r3')
  await resynced
  t.equal(bob.client.gatewayUrl, other, 'reconnected to the other gateway')
  const texts = await bob.inbox.waitFor(3)
  t.same(texts.map((e) => e.text), ['r1', 'r2', 'r3'])
  t.equal(new Set(bob.inbox.texts.map((e) => e.message.id)).size, bob.inbox.texts.length, 'no message twice')
  t.same(bob.inbox.rejected, [])
})

t.test('a wrong password is invalid_credentials; an unreachable server is unreachable', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  await t.rejects(ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: alice.username, password: 'not the password' }), { code: 'invalid_credentials' })
  await t.rejects(ChatClient.login({ authUrl: 'http://127.0.0.1:1', gatewayUrl: stack.gatewayUrls, username: alice.username, password: PASSWORD }), { code: 'unreachable' })
  await t.rejects(ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: ['ws://127.0.0.1:1/v1/ws', 'ws://127.0.0.1:2/v1/ws'], username: alice.username, password: PASSWORD, keyStore: alice.store }), { code: 'unreachable' })
  const err = await alice.client.sendText({ to: randomUUID() }, 'nobody').catch((e: unknown) => e)
  t.ok(isChatClientError(err, 'no_keys'), 'a user without keys cannot be written to')
})

t.test('a connection that goes silent without closing is given up, and the client comes back and catches up', async (t) => {
  const proxy = await startSilentProxy(t, stack.gatewayUrls[0] as string)
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob', { gatewayUrl: proxy.url, heartbeatMs: 300, reconnect: { minDelayMs: 10, maxDelayMs: 50 } })
  await alice.client.sendText({ to: bob.id }, 's1')
  await bob.inbox.waitFor(1)

  const gone = new Promise<void>((resolve) => bob.client.once('disconnected', () => resolve()))
  const back = new Promise<void>((resolve) => bob.client.once('synced', () => resolve()))
  proxy.silence()
  await alice.client.sendText({ to: bob.id }, 's2')
  await gone
  await back
  t.ok(proxy.connections >= 2, 'a new connection')
  await alice.client.sendText({ to: bob.id }, 's3')
  const texts = await bob.inbox.waitFor(3)
  t.same(texts.map((e) => e.text), ['s1', 's2', 's3'])
})

t.test('a password changed elsewhere ends this device\'s session: the client closes with session_ended', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const closed = new Promise<{ error?: { code: string } }>((resolve) => alice.client.once('closed', resolve))
  const other = await (await fetch(`${stack.authUrl}/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: alice.username, password: PASSWORD })
  })).json() as { accessToken: string }
  const changed = await fetch(`${stack.authUrl}/v1/users/${alice.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${other.accessToken}` },
    body: JSON.stringify({ password: 'a new and different passphrase', currentPassword: PASSWORD })
  })
  t.equal(changed.status, 200)
  const { error } = await closed
  t.equal(error?.code, 'session_ended')
  t.equal(await alice.store.get(storeNames(alice.id).session), undefined, 'the dead session is not kept')
  await t.rejects(alice.client.sendText({ to: alice.id }, 'after'), { code: 'closed' })
})

t.test('a contact\'s new device is trusted through their account key, even after their old list was cached', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob')
  await alice.client.sendText({ to: bob.id }, 'from the first device')
  await bob.inbox.waitFor(1)

  // Alice's second device, enrolled with her account key: bob's cached list does not have it yet.
  const laptopStore = new MemoryKeyStore()
  await laptopStore.set(storeNames(alice.id).account, await alice.store.get(storeNames(alice.id).account))
  const laptop = await ChatClient.login({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: alice.username, password: PASSWORD, keyStore: laptopStore })
  t.teardown(async () => { await laptop.close() })
  await laptop.sendText({ to: bob.id }, 'from the second device')
  const texts = await bob.inbox.waitFor(2)
  t.equal(texts[1]?.text, 'from the second device')
  t.equal(texts[1]?.deviceId, laptop.deviceId)
  t.same(bob.inbox.rejected, [])
})

t.test('a gateway address that accepts connections but never answers is given up, not waited on', async (t) => {
  // A TCP server that takes connections and says nothing, like a host that swallows packets.
  const held = new Set<Socket>()
  const server = createServer((socket) => { held.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of held) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address()
  const silent = `ws://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/v1/ws`

  const alice = await signUp(t, stack, 'alice')
  const options = { authUrl: stack.authUrl, username: alice.username, password: PASSWORD, keyStore: alice.store, heartbeatMs: 200, reconnect: { minDelayMs: 10, maxDelayMs: 50 } }
  await t.rejects(ChatClient.login({ ...options, gatewayUrl: [silent, silent] }), { code: 'unreachable' }, 'only silent gateways: unreachable')
  const client = await ChatClient.login({ ...options, gatewayUrl: [silent, stack.gatewayUrls[0] as string] })
  t.teardown(async () => { await client.close() })
  t.equal(client.gatewayUrl, stack.gatewayUrls[0], 'a silent gateway and a live one: the live one serves')
})

t.test('a third party\'s message injected into a direct conversation behind the gateway\'s back is rejected', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob')
  const mallory = await signUp(t, stack, 'mallory')
  await bob.client.sendText({ to: alice.id }, 'genuine')
  await alice.inbox.waitFor(1)

  // Mallory seals a valid envelope for alice's conversation with bob and, as a
  // compromised server component would, publishes it to CHAT directly.
  const conversationId = alice.client.directConversationId(bob.id)
  const device = await importDeviceKeys(await mallory.store.get(storeNames(mallory.id).device))
  const id = randomUUID()
  const body = await sealEnvelope({
    conversationId,
    messageId: id,
    counter: 1,
    sender: { userId: mallory.id, device },
    recipients: await Promise.all([mallory.id, alice.id, bob.id].map(async (u) => await mallory.client.deviceList(u))),
    plaintext: 'this is bob, honest'
  })
  const js = jetstream(stack.nats.nc)
  await js.publish(chatSubjects(namespace(stack.ns)).message(conversationId), JSON.stringify({ id, conversationId, senderId: mallory.id, sentAt: new Date().toISOString(), body }), { msgID: id })

  const [rejected] = await alice.inbox.waitForRejected(1)
  t.equal(rejected?.code, 'wrong_conversation')
  t.equal(rejected?.message.id, id)
  t.same(alice.inbox.texts.map((e) => e.text), ['genuine'])
})

t.test('a message injected into a group behind the gateway\'s back by a removed member, or by one who never was, is rejected', async (t) => {
  const alice = await signUp(t, stack, 'alice')
  const bob = await signUp(t, stack, 'bob')
  const mallory = await signUp(t, stack, 'mallory')
  const trudy = await signUp(t, stack, 'trudy')
  const group = await alice.client.createGroup('team', [bob.id, mallory.id])
  await mallory.client.sendText({ conversationId: group.id }, 'hello from a member')
  await bob.inbox.waitFor(1)
  await alice.client.removeMember(group.id, mallory.id)
  await until(async () => (await bob.client.conversations()).find((c) => c.id === group.id)?.members.includes(mallory.id) === false, 10_000, 'bob to see the removal')

  // Each seals a valid envelope for the group's members and publishes it to
  // CHAT directly, as a compromised server component would.
  const js = jetstream(stack.nats.nc)
  // The writer refuses a forged message by dead-lettering it; the history
  // is read only once both are refused and the genuine one is stored (the
  // writer commits a batch's membership events before its messages, so the
  // removal can be visible before the message before it is).
  const deadLettered = new Set<string>()
  const deadLetters = stack.nats.nc.subscribe(namespace(stack.ns).subject('deadletter', '>'))
  void (async () => {
    for await (const m of deadLetters) deadLettered.add((m.json<{ id: string }>()).id)
  })()
  t.teardown(() => { deadLetters.unsubscribe() })
  const inject = async (sender: typeof mallory, text: string): Promise<string> => {
    const device = await importDeviceKeys(await sender.store.get(storeNames(sender.id).device))
    const id = randomUUID()
    const body = await sealEnvelope({
      conversationId: group.id,
      messageId: id,
      counter: 100,
      sender: { userId: sender.id, device },
      recipients: await Promise.all([sender.id, alice.id, bob.id].map(async (u) => await sender.client.deviceList(u))),
      plaintext: text
    })
    await js.publish(chatSubjects(namespace(stack.ns)).message(group.id), JSON.stringify({ id, conversationId: group.id, senderId: sender.id, sentAt: new Date().toISOString(), body }), { msgID: id })
    return id
  }
  const forged = [await inject(mallory, 'still here, honest'), await inject(trudy, 'let me in')]
  const rejected = await bob.inbox.waitForRejected(2)
  t.same(rejected.map((r) => r.message.id).sort(), [...forged].sort())
  t.same(rejected.map((r) => r.code), ['wrong_conversation', 'wrong_conversation'])
  t.same(bob.inbox.texts.map((e) => e.text), ['hello from a member'], 'only the genuine message is shown')
  await until(() => forged.every((id) => deadLettered.has(id)), 10_000, 'the writer to refuse both')
  await until(async () => (await bob.client.history(group.id)).items.length > 0, 10_000, 'the genuine message to be stored')
  const history = await bob.client.history(group.id)
  t.same(history.items.map((m) => m.text), ['hello from a member'], 'the writer stored none of them')
})
