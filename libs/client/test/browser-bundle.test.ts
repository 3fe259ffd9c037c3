import t from 'tap'
import { browserContext } from '@metadome/testing'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { ChatClient } from '../src/index.js'
import { startStack } from '@metadome/e2e'
import { PASSWORD, signUp, username } from './helpers/users.js'

// "Runs unchanged in Node and browsers": the SDK is bundled for the browser
// platform (a Node built-in anywhere in its module graph fails the build) and
// run in a fresh context with web globals only (no process, require or
// Buffer), where it signs in, makes and publishes its keys, authenticates its
// socket with the first frame, and exchanges encrypted texts with a Node
// client through the real services. The context's WebSocket and fetch are
// Node's implementations of those web APIs (a page has its own).

const stack = await startStack(t, { gateways: 1 })

t.test('the SDK bundled for browsers chats with web globals only', async (t) => {
  const result = await build({
    stdin: {
      contents: `
        import { ChatClient } from '../src/index.ts'
        globalThis.__run = async (o) => {
          const client = await ChatClient.login(o)
          const reply = new Promise((resolve) => client.on('text', (e) => resolve(e.text)))
          await client.sendText({ to: o.to }, o.text)
          const text = await reply
          await client.close()
          return text
        }`,
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
      loader: 'ts'
    },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    conditions: ['@metadome/source'],
    // Only loaded where there is no global WebSocket (Node 20); never in a page.
    external: ['ws'],
    write: false,
    logLevel: 'silent'
  })
  t.same(result.errors, [])
  const code = result.outputFiles[0]?.text ?? ''
  t.notMatch(code, /from\s+["']node:|require\(["']node:/, 'no node: imports')

  const bob = await signUp(t, stack, 'bob')
  bob.client.on('text', (e) => { void bob.client.sendText({ to: e.senderId }, `got "${e.text}"`) })
  const alice = username('alice')
  const user = await ChatClient.register({ authUrl: stack.authUrl, username: alice, password: PASSWORD })
  await stack.known(user.id)

  const page = browserContext({ WebSocket, fetch, Response, Headers })
  const { window } = page
  t.equal(page.run('typeof process + typeof require + typeof Buffer'), 'undefinedundefinedundefined')
  page.run(code)
  const run = window.__run as (o: Record<string, unknown>) => Promise<string>
  const reply = await run({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: alice, password: PASSWORD, to: bob.id, text: 'hello from a page' })
  t.equal(reply, 'got "hello from a page"', 'the page sent, the Node client decrypted and answered, the page decrypted the answer')
  t.same(bob.inbox.texts.map((e) => e.text), ['hello from a page'])
})
