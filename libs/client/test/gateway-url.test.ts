import t from 'tap'
import { gatewaySocketUrl } from '../src/chat-client.js'
import { startStack } from '@metadome/e2e'
import { signUp } from './helpers/users.js'

// A gateway may be given by the http(s) address it is served at, as a browser
// app is configured (DESIGN.md "Browser client"), as well as by its
// ws(s)://…/v1/ws URL.

const cases: Array<[string, string, string]> = [
  ['http://127.0.0.1:3001', 'ws://127.0.0.1:3001/v1/ws', 'an http address gets ws and /v1/ws'],
  ['http://127.0.0.1:3001/', 'ws://127.0.0.1:3001/v1/ws', 'a trailing slash is not doubled'],
  ['https://example.com', 'wss://example.com/v1/ws', 'https becomes wss'],
  ['https://example.com/chat', 'wss://example.com/chat/v1/ws', 'a path prefix is kept'],
  ['https://example.com/chat/', 'wss://example.com/chat/v1/ws', 'a path prefix with a trailing slash'],
  ['http://127.0.0.1:3001/v1/ws', 'ws://127.0.0.1:3001/v1/ws', 'an http address already ending in /v1/ws keeps its path'],
  ['ws://127.0.0.1:3001/v1/ws', 'ws://127.0.0.1:3001/v1/ws', 'a ws URL stays as it is'],
  ['wss://example.com/chat/v1/ws', 'wss://example.com/chat/v1/ws', 'a wss URL stays as it is'],
  ['wss://example.com/custom-socket', 'wss://example.com/custom-socket', 'a ws URL on another path stays as it is'],
  ['not a url', 'not a url', 'something else is left for opening the socket to refuse']
]
for (const [given, expected, what] of cases) {
  t.test(`${what}: ${given}`, async (t) => {
    t.equal(gatewaySocketUrl(given), expected)
  })
}

t.test('a client given the gateway\'s http:// address signs in and exchanges texts', async (t) => {
  const stack = await startStack(t, { gateways: 1 })
  const socketUrl = stack.gatewayUrls[0] as string
  const httpUrl = socketUrl.replace(/^ws:/, 'http:').replace(/\/v1\/ws$/, '')
  t.match(httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/)

  const alice = await signUp(t, stack, 'alice', { gatewayUrl: httpUrl })
  const bob = await signUp(t, stack, 'bob', { gatewayUrl: socketUrl })
  t.equal(alice.client.gatewayUrl, socketUrl, 'the socket went to the derived ws URL')

  const ack = await alice.client.sendText({ to: bob.id }, 'over an http address')
  const [got] = await bob.inbox.waitFor(1)
  t.equal(got?.text, 'over an http address')
  t.equal(got?.message.id, ack.id)
  await bob.client.sendText({ to: alice.id }, 'and back')
  const [back] = await alice.inbox.waitFor(1)
  t.equal(back?.text, 'and back')

  // Group routes are REST on the same gateway: their base comes from the address too.
  const group = await alice.client.createGroup('http address', [bob.id])
  t.same([...group.members].sort(), [alice.id, bob.id].sort())
})
