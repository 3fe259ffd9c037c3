import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { Secret, TOTP } from 'otpauth'
import { ChatClient, type TextEvent } from '@metadome/client'
import { FileKeyStore } from '@metadome/client/node'
import { buildGateway, startStack } from '@metadome/e2e'
import { repoRoot, startAppProcess, until, tempDir } from '@metadome/testing'
import { readability } from './helpers/readable.js'
import { DESKTOP, PASSWORD, PHONE, launch, newPerson, openConversation, screenshot, sees, send, serveWeb, storedSecrets, visit, type Person } from './helpers/browser.js'

// The browser client end to end, in real Chromium, against the real services
// (startStack) behind the web server (apps/web/src/app.ts). One browser and
// one stack for the whole file; the subtests run in order and build on one
// another (the people made in the first chat on in the later ones).

// Nine browser scenarios in one file: about 35 s alone, over 70 s beside the
// rest of the suite on two cores, so more than tap's default 120 s of room.
t.setTimeout(300_000)

const run = promisify(execFile)
const stack = await startStack(t, { gateways: 1 })
const url = await serveWeb(t, stack)
const browser = await launch(t)
let alice: Person
let bob: Person

t.test('two people create accounts, find each other and chat both ways, with typing and read marks', async (t) => {
  const first = await visit(browser, url, DESKTOP)
  await screenshot(first.page, 'sign-in-desktop')
  await first.context.close()
  const phone = await visit(browser, url, PHONE)
  await screenshot(phone.page, 'sign-in-phone')
  // Canaries: the measure behind every screenshot sees pale text and a too-wide page.
  await phone.page.evaluate(`(() => { const p = document.createElement('p'); p.id = 'canary'; p.textContent = 'pale canary'; p.style.color = '#aaaaaa'; p.style.width = '900px'; document.body.append(p) })()`)
  const seen = await readability(phone.page)
  t.match(seen.failures.join(), /"pale canary" 2\.\d+:1/, 'pale text is caught')
  t.equal(seen.overflow, true, 'a page wider than a phone is caught')
  await phone.context.close()

  alice = await newPerson(browser, url, stack, 'alice', DESKTOP)
  bob = await newPerson(browser, url, stack, 'bob', PHONE)

  await alice.page.getByRole('searchbox', { name: 'Search people' }).fill('bo')
  await alice.page.getByRole('button', { name: 'Message bob' }).click()
  const beforeSend = Date.now()
  await send(alice.page, 'hi bob, this is alice')

  const list = bob.page.getByRole('list', { name: 'Conversations', exact: true })
  await list.getByRole('button', { name: 'alice, 1 unread' }).waitFor()
  // Last activity: the time of the newest message (the browser and the
  // servers share this machine's clock).
  const lastActivity = async (page: Page, name: string | RegExp): Promise<number> => {
    const time = page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name }).locator('time')
    t.not((await time.textContent())?.trim() ?? '', '', 'the last activity is shown')
    return Date.parse(await time.getAttribute('datetime') ?? '')
  }
  const sentAt = await lastActivity(bob.page, 'alice, 1 unread')
  t.ok(sentAt >= beforeSend - 2_000 && sentAt <= Date.now() + 2_000, 'bob\'s list shows the time alice\'s message was sent')
  // bob's page has it (not yet read): alice sees it delivered.
  await alice.page.locator('.message.mine .mark', { hasText: 'Delivered' }).waitFor()
  await screenshot(bob.page, 'conversations-phone')
  await openConversation(bob.page, /^alice/)
  await sees(bob.page, 'hi bob, this is alice')

  // bob opened it: alice's message is marked read.
  await alice.page.locator('.message.mine .mark', { hasText: 'Read' }).waitFor()

  await bob.page.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('hello al')
  await alice.page.getByText('bob is typing…').waitFor()
  await bob.page.getByRole('textbox', { name: 'Message', exact: true }).fill('')
  await send(bob.page, 'hello alice')
  await sees(alice.page, 'hello alice')
  t.ok(await lastActivity(alice.page, /^bob/) >= sentAt, 'a newer message moves the last activity on')
  await bob.page.locator('.message.mine .mark', { hasText: 'Read' }).waitFor()
  await screenshot(alice.page, 'conversation-desktop')
  await screenshot(bob.page, 'conversation-phone')
  t.pass('both sides read the other\'s message')
})

t.test('a reload keeps the session and the history, decrypted from the keys in IndexedDB; no private key leaves the page', async (t) => {
  await alice.page.reload()
  await openConversation(alice.page, /^bob/)
  await sees(alice.page, 'hi bob, this is alice')
  await sees(alice.page, 'hello alice')
  t.equal(await alice.page.getByLabel('Username', { exact: true }).count(), 0, 'no sign-in form after the reload')

  const secrets = await storedSecrets(alice.page)
  t.equal(secrets.length, 3, 'the account key and the device\'s two secret keys are in IndexedDB')
  t.ok(alice.sent.length > 10, 'requests and frames were recorded')
  for (const secret of secrets) {
    const forms = [secret, Buffer.from(secret, 'base64url').toString('hex'), Buffer.from(secret, 'base64url').toString('base64')]
    t.notOk(alice.sent.some((s) => forms.some((f) => s.includes(f))), 'a secret key is in nothing the page sent')
  }
})

t.test('a group: made, renamed, a third person added reads what is sent after, a member removed, one leaves', async (t) => {
  const carol = await newPerson(browser, url, stack, 'carol', DESKTOP)
  const a = alice.page
  await a.getByRole('button', { name: 'New group', exact: true }).click()
  await a.getByLabel('Group name', { exact: true }).fill('Book club')
  await a.getByLabel('Members', { exact: true }).fill('bob')
  await a.getByRole('button', { name: 'Create group', exact: true }).click()
  await send(a, 'before carol joined')

  await a.getByRole('button', { name: 'Group settings', exact: true }).click()
  await a.getByLabel('Add member', { exact: true }).fill('carol')
  await a.getByRole('button', { name: 'Add', exact: true }).click()
  await a.getByRole('list', { name: 'Members', exact: true }).getByText('carol').waitFor()
  await a.getByLabel('Group name', { exact: true }).fill('Book club (fiction)')
  await a.getByRole('button', { name: 'Rename', exact: true }).click()
  await a.getByRole('heading', { name: 'Group settings' }).waitFor()
  await a.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name: /^Book club \(fiction\)/ }).waitFor()
  await screenshot(a, 'group-settings-desktop')

  await openConversation(a, /^Book club \(fiction\)/)
  await send(a, 'welcome carol')
  await openConversation(carol.page, /^Book club \(fiction\), 1 unread/)
  await sees(carol.page, 'welcome carol')
  t.equal(await carol.page.getByRole('log').getByText('before carol joined').count(), 0, 'carol does not see what was sent before she joined')

  await openConversation(bob.page, /^Book club \(fiction\)/)
  await sees(bob.page, 'before carol joined')
  await sees(bob.page, 'welcome carol')
  await screenshot(bob.page, 'group-phone')

  await a.getByRole('button', { name: 'Group settings', exact: true }).click()
  await a.getByRole('button', { name: 'Remove bob', exact: true }).click()
  await a.getByRole('list', { name: 'Members', exact: true }).getByText('bob').waitFor({ state: 'detached' })
  await openConversation(a, /^Book club \(fiction\)/)
  await send(a, 'bob has left')
  await sees(carol.page, 'bob has left')
  await bob.page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name: /^Book club/ }).waitFor({ state: 'detached' })
  t.equal(await bob.page.getByText('bob has left').count(), 0, 'bob, removed, no longer has the group and did not get what was sent after')

  await carol.page.getByRole('button', { name: 'Group settings', exact: true }).click()
  await carol.page.getByRole('button', { name: 'Leave group', exact: true }).click()
  await carol.page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name: /^Book club/ }).waitFor({ state: 'detached' })
  await a.getByRole('button', { name: 'Group settings', exact: true }).click()
  await a.getByRole('list', { name: 'Members', exact: true }).getByText('carol').waitFor({ state: 'detached' })
  await carol.context.close()
})

t.test('the browser and the SDK as the terminal client uses it read each other; a changed key is announced', async (t) => {
  // As `metadome register` and `login` do: the SDK with a FileKeyStore.
  const home = await tempDir(t, 'metadome-web-cli-')
  const options = { authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, username: 'dave', password: 'correct horse battery staple' }
  const user = await ChatClient.register({ authUrl: stack.authUrl, username: 'dave', password: options.password })
  await stack.known(user.id)
  const dave = await ChatClient.login({ ...options, keyStore: new FileKeyStore(join(home, 'store')) })
  t.teardown(async () => { await dave.close() })
  const reply = new Promise<TextEvent>((resolve) => dave.on('text', resolve))
  await dave.sendText({ to: alice.id }, 'from the terminal')

  const a = alice.page
  await openConversation(a, 'dave, 1 unread')
  await sees(a, 'from the terminal')
  await send(a, 'back to the terminal')
  const got = await reply
  t.equal(got.text, 'back to the terminal', 'the SDK decrypted what the browser sent')
  t.equal(got.senderId, alice.id)

  await a.getByRole('button', { name: 'Safety number', exact: true }).click()
  const shown = await a.getByLabel('Safety number', { exact: true }).textContent()
  t.equal(shown, (await dave.safetyNumber(alice.id)).formatted, 'the page shows the number the terminal client computes')
  await screenshot(a, 'safety-number-desktop')

  // More than a page of history: after a reload the newest page shows, and
  // scrolling to the top brings the older ones.
  for (let i = 1; i <= 40; i++) await dave.sendText({ to: alice.id }, `page test ${i}`)
  await openConversation(a, /^dave/)
  await sees(a, 'page test 40')
  await a.reload()
  await openConversation(a, /^dave/)
  await sees(a, 'page test 40')
  t.equal(await a.getByRole('log').getByText('page test 1', { exact: true }).count(), 0, 'the oldest are not loaded yet')
  // As a person does: the mouse wheel, up to the top.
  await a.getByRole('log').hover()
  await a.mouse.wheel(0, -20_000)
  await sees(a, 'page test 1')
  await sees(a, 'from the terminal')
  await dave.close()

  // dave starts over on another machine: a new account key.
  const fresh = await ChatClient.login({ ...options, newKeys: true, keyStore: new FileKeyStore(join(home, 'other')) })
  t.teardown(async () => { await fresh.close() })
  await fresh.sendText({ to: alice.id }, 'from my new key')
  await a.getByRole('alert').getByText('dave\'s security key changed.').waitFor()
  await openConversation(a, /^dave/)
  await a.getByText(/security key changed\. Compare safety numbers first/).waitFor()
  t.equal(await a.getByRole('log').getByText('from my new key').count(), 0, 'a message from the new key is not shown as genuine')
  await screenshot(a, 'key-changed-desktop')
  await a.getByRole('button', { name: 'Compare safety numbers', exact: true }).click()
  const changed = await a.getByLabel('Safety number', { exact: true }).textContent()
  t.equal(changed, (await fresh.safetyNumber(alice.id)).formatted, 'the number over the new key')
  await a.getByRole('button', { name: 'Trust new key', exact: true }).click()
  await a.getByRole('button', { name: 'Compare safety numbers', exact: true }).waitFor({ state: 'detached' })
  const after = new Promise<TextEvent>((resolve) => fresh.on('text', resolve))
  await openConversation(a, /^dave/)
  await send(a, 'numbers match')
  t.equal((await after).text, 'numbers match', 'once trusted, the new key gets messages')
})

t.test('the terminal client itself (the metadome command) and the browser read each other', async (t) => {
  const home = await tempDir(t, 'metadome-web-term-')
  const env = { ...process.env, METADOME_HOME: home, METADOME_PASSWORD: PASSWORD, METADOME_AUTH_URL: stack.authUrl, METADOME_GATEWAY_URL: stack.gatewayUrls.join(',') }
  const metadome = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(process.execPath, [join(repoRoot, 'apps/cli/bin/metadome.js'), ...args], { env })
    return stdout
  }
  const registered = /^registered tess \(([0-9a-f-]{36})\)$/m.exec(await metadome('register', 'tess'))
  t.ok(registered, 'metadome register')
  await stack.known(registered?.[1] ?? '')
  await metadome('send', 'alice', 'from the metadome command')

  const a = alice.page
  await openConversation(a, 'tess, 1 unread')
  await sees(a, 'from the metadome command')
  await send(a, 'back to the metadome command')
  // `metadome chat` shows the conversation's history, decrypted, then waits for input.
  const chat = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/metadome.js'), 'chat', 'alice'], { env, stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { chat.kill() })
  let shown = ''
  chat.stdout.on('data', (chunk: Buffer) => { shown += chunk.toString() })
  await until(() => shown.includes('back to the metadome command'), 30_000, 'metadome chat to show the reply')
  t.match(shown, 'from the metadome command', 'and its own message')
})

t.test('a banner says when the connection is lost and when it is back', async (tt) => {
  const [gateway] = stack.gateways
  if (gateway === undefined) throw new Error('no gateway')
  const port = Number(new URL(gateway.url).port)
  await openConversation(alice.page, /^bob/)
  // First a gateway that stops as it should (close 1012), replaced by one
  // in a process of its own; then that process is killed (kill -9: no close
  // frame, the kernel drops its connections), as a crash or a lost node is.
  await gateway.app.close()
  await alice.page.getByText('Connection lost.', { exact: false }).waitFor()
  const gatewayEnv = { NATS_URL: stack.natsUrl, NATS_NAMESPACE: stack.ns, AUTH_URL: stack.authUrl, LOG_LEVEL: 'warn' }
  const killed = await startAppProcess(t, { app: 'chat-gateway', port, env: gatewayEnv })
  await alice.page.getByText('Connection lost.', { exact: false }).waitFor({ state: 'detached' })
  await bob.page.getByText('Connection lost.', { exact: false }).waitFor({ state: 'detached' })
  await killed.kill()
  await alice.page.getByText('Connection lost.', { exact: false }).waitFor()
  await bob.page.getByText('Connection lost.', { exact: false }).waitFor()
  await screenshot(alice.page, 'connection-lost-desktop')
  await screenshot(bob.page, 'connection-lost-phone')
  // A page opened meanwhile keeps the session and offers to try again.
  await bob.page.reload()
  await bob.page.getByRole('button', { name: 'Try again', exact: true }).waitFor()
  tt.equal(await bob.page.getByLabel('Username', { exact: true }).count(), 0, 'no sign-in form while the servers are away')
  await screenshot(bob.page, 'unreachable-phone')

  // A new gateway where the old one was: the pages find it by themselves.
  // It stays up for the subtests after this one (the file's teardown closes it).
  const next = await buildGateway(t, gatewayEnv)
  await next.app.listen({ host: '127.0.0.1', port })
  await alice.page.getByText('Connected again.').waitFor()
  await alice.page.getByText('Connection lost.', { exact: false }).waitFor({ state: 'detached' })
  await bob.page.getByRole('button', { name: 'Try again', exact: true }).click()
  await bob.page.getByRole('list', { name: 'Conversations', exact: true }).waitFor()
  await send(alice.page, 'still here?')
  await openConversation(bob.page, /^alice/)
  await sees(bob.page, 'still here?')
  tt.pass('messages flow again through the new gateway')
})

t.test('the sessions screen lists this device and signs it out', async (t) => {
  const a = alice.page
  await a.getByRole('button', { name: 'Sessions', exact: true }).click()
  t.equal(await a.getByText('Connection lost.', { exact: false }).count(), 0, 'still connected')
  const sessions = a.getByRole('list', { name: 'Sessions', exact: true })
  await sessions.getByText('This device', { exact: true }).waitFor()
  await screenshot(a, 'sessions-desktop')
  await bob.page.getByRole('button', { name: 'Sessions', exact: true }).click()
  await bob.page.getByRole('list', { name: 'Sessions', exact: true }).getByText('This device', { exact: true }).waitFor()
  await screenshot(bob.page, 'sessions-phone')
  await a.getByRole('button', { name: 'Sign out this device', exact: true }).click()
  await a.getByLabel('Username', { exact: true }).waitFor()
  await a.reload()
  await a.getByLabel('Username', { exact: true }).waitFor()
  const { rows } = await stack.sql.query<{ n: string }>('select count(*) as n from auth.sessions where user_id = $1 and revoked_at is null', [alice.id])
  t.equal(Number(rows[0]?.n), 0, 'the session ended on the server')
})

t.test('from the keyboard alone: sign in, find someone, write to them; their unread count survives a reload', async (t) => {
  const a = alice.page
  await a.getByLabel('Username', { exact: true }).focus()
  await a.keyboard.type('alice')
  await a.keyboard.press('Tab')
  await a.keyboard.type('correct horse battery staple')
  await a.keyboard.press('Enter')
  await a.getByRole('list', { name: 'Conversations', exact: true }).waitFor()
  await tabTo(a, 'Search people')
  await a.keyboard.type('bob')
  await a.getByRole('button', { name: 'Message bob', exact: true }).waitFor()
  await tabTo(a, 'Message bob')
  await a.keyboard.press('Enter')
  // The message field has the focus once a conversation opens.
  await a.getByRole('textbox', { name: 'Message', exact: true }).waitFor()
  t.equal(await focused(a), 'message', 'the message field has the focus')
  await a.keyboard.type('typed with the keyboard only')
  await a.keyboard.press('Enter')
  await openConversation(bob.page, /^alice/)
  await sees(bob.page, 'typed with the keyboard only')

  // Unread counts come from the server too: bob, on the list, reloads.
  await bob.page.getByRole('button', { name: 'Back to conversations', exact: true }).click()
  await a.keyboard.type('are you there?')
  await a.keyboard.press('Enter')
  await bob.page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name: 'alice, 1 unread', exact: true }).waitFor()
  await bob.page.reload()
  await bob.page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name: 'alice, 1 unread', exact: true }).waitFor()
  t.pass('the unread count survives a reload')
})

t.test('an account with a second factor signs in with its code', async (t) => {
  // erin turns TOTP on (as with the terminal client), computing codes as an authenticator app does.
  const post = async (path: string, body: unknown, token?: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${stack.authUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) })
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return await res.json() as Record<string, unknown>
  }
  await post('/v1/users', { username: 'erin', password: PASSWORD })
  const { accessToken } = await post('/v1/auth/login', { username: 'erin', password: PASSWORD }) as { accessToken: string }
  const { secret } = await post('/v1/auth/mfa/totp/enroll', { currentPassword: PASSWORD }, accessToken) as { secret: string }
  const codeAt = (offset: number): string => new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + offset * 30_000 })
  await post('/v1/auth/mfa/totp/confirm', { code: codeAt(0) }, accessToken)

  const { context, page } = await visit(browser, url, PHONE)
  t.teardown(async () => { await context.close() })
  await page.getByLabel('Username', { exact: true }).fill('erin')
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  const field = page.getByLabel('Authentication code', { exact: true })
  await field.waitFor()
  await screenshot(page, 'second-factor-phone')
  const wrong = ['000000', '111111', '222222'].find((c) => ![-1, 0, 1].map(codeAt).includes(c)) ?? '333333'
  await field.fill(wrong)
  await page.getByRole('button', { name: 'Verify', exact: true }).click()
  await page.getByRole('alert').getByText(/^That code did not work/).waitFor()
  // The next step's code: auth-api takes ±1 step, each step after the last one used (confirm's).
  await field.fill(codeAt(1))
  await page.getByRole('button', { name: 'Verify', exact: true }).click()
  // Attached, not visible: erin has no conversations yet, so the list is empty.
  await page.getByRole('list', { name: 'Conversations', exact: true }).waitFor({ state: 'attached' })
  await page.getByText('Signed in as', { exact: false }).waitFor({ state: 'attached' })
  t.pass('signed in with the second factor')
})

/** The focused element's id, aria-label or text. */
async function focused (page: Page): Promise<string> {
  return await page.evaluate('(() => { const e = document.activeElement; return e === null ? "" : e.id || e.getAttribute("aria-label") || e.textContent || "" })()') as string
}

/** Presses Tab until the element labelled `name` has the focus (at most 40 times). */
async function tabTo (page: Page, name: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (await focused(page) === name) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${name}`)
}
