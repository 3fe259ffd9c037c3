import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Teardown } from '@metadome/testing'
import type { AuthStack } from '@metadome/e2e'
import { buildWebServer } from '../../src/app.js'
import { readability } from './readable.js'

// Real Chromium (Debian's, at /usr/bin/chromium: never a downloaded one)
// driving the page the web server serves in front of a startStack. One
// browser per test file; each person is a browser context of their own (their
// own IndexedDB: another device). Controls are found by their accessible
// names, the ones DESIGN.md "Browser client" lists.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const PASSWORD = 'correct horse battery staple'
export const SCREENSHOTS = fileURLToPath(new URL('../../screenshots/', import.meta.url))

export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 375, height: 740 }

/** The web server in front of the stack's auth-api and gateways, on `port` (a free one by default). */
export async function serveWeb (t: Teardown, stack: AuthStack, port = 0): Promise<string> {
  const web = await buildWebServer({
    HOST: '127.0.0.1',
    PORT: port,
    WEB_AUTH_URL: stack.authUrl,
    WEB_GATEWAY_URL: stack.gateways.map((g) => g.url).join(',')
  })
  const url = await web.listen()
  t.teardown(async () => { await web.close() })
  return url
}

export async function launch (t: Teardown): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`)
  // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close() })
  await mkdir(SCREENSHOTS, { recursive: true })
  return browser
}

export interface Person {
  name: string
  id: string
  context: BrowserContext
  page: Page
  /** Every request body and WebSocket frame the page sent, to look for secrets in. */
  sent: string[]
}

/** A new browser context at `viewport` with the page open at its sign-in form. */
export async function visit (browser: Browser, url: string, viewport: { width: number, height: number }): Promise<{ context: BrowserContext, page: Page }> {
  const context = await browser.newContext({ viewport })
  // Generous: the whole suite runs two files at a time on two cores.
  context.setDefaultTimeout(30_000)
  const page = await context.newPage()
  if (process.env.WEB_TEST_DEBUG === '1') {
    page.on('console', (m) => { process.stderr.write(`[page] ${m.type()} ${m.text()}\n`) })
    page.on('pageerror', (e) => { process.stderr.write(`[page] error ${e.message}\n`) })
  }
  await page.goto(url)
  await page.getByLabel('Username', { exact: true }).waitFor()
  return { context, page }
}

/** Fills the sign-in form and presses "Create account" (or "Sign in"); resolves once the conversation list shows. */
export async function signInForm (page: Page, name: string, button: 'Create account' | 'Sign in'): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(name)
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByRole('button', { name: button, exact: true }).click()
  await page.getByRole('list', { name: 'Conversations', exact: true }).waitFor({ state: 'attached' })
}

/** Someone who created an account in a browser, once message-writer knows them (a direct message to them needs it). */
export async function newPerson (browser: Browser, url: string, stack: AuthStack, name: string, viewport = DESKTOP): Promise<Person> {
  const { context, page } = await visit(browser, url, viewport)
  const sent: string[] = []
  context.on('request', (req) => { sent.push(`${req.url()} ${req.postData() ?? ''}`) })
  page.on('websocket', (ws) => { ws.on('framesent', (frame) => { sent.push(String(frame.payload)) }) })
  await signInForm(page, name, 'Create account')
  const { rows } = await stack.sql.query<{ id: string }>('select id from auth.users where username = $1', [name])
  const id = rows[0]?.id
  if (id === undefined) throw new Error(`no user ${name} after Create account`)
  await stack.known(id)
  return { name, id, context, page, sent }
}

/** Opens a conversation from the list by its accessible name (the title, then ", N unread" if any). */
export async function openConversation (page: Page, title: string | RegExp): Promise<void> {
  // At phone width the list is behind the open pane's back button.
  const back = page.getByRole('button', { name: 'Back to conversations', exact: true })
  if (await back.isVisible()) await back.click()
  await page.getByRole('list', { name: 'Conversations', exact: true }).getByRole('button', { name: title }).click()
  await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor()
}

export async function send (page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill(text)
  await page.getByRole('button', { name: 'Send', exact: true }).click()
  await page.locator('.message.mine', { hasText: text }).locator('.mark', { hasNotText: 'Sending' }).waitFor()
}

/** Waits for a message with this text in the open conversation's log. */
export async function sees (page: Page, text: string): Promise<void> {
  await page.getByRole('log').getByText(text, { exact: true }).waitFor()
}

/** Saves the screen under SCREENSHOTS, and checks what is on it for contrast and width (readable.ts). */
export async function screenshot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` })
  const { failures, overflow } = await readability(page)
  if (failures.length > 0) throw new Error(`${name}: text below WCAG AA contrast: ${failures.join('; ')}`)
  if (overflow) throw new Error(`${name}: the page is wider than the window`)
}

/** The secret halves of the keys this page keeps in IndexedDB (the SDK's store names end in /account and /device). */
export async function storedSecrets (page: Page): Promise<string[]> {
  // A string, run in the page: the test's own TypeScript has no DOM types.
  const records = await page.evaluate(`new Promise((resolve, reject) => {
    const open = indexedDB.open('metadome')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const req = open.result.transaction('keys').objectStore('keys').getAll()
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    }
  })`) as unknown[]
  const secrets: string[] = []
  for (const r of records) {
    const v: unknown = typeof r === 'string' ? JSON.parse(r) : undefined
    if (typeof v !== 'object' || v === null) continue
    for (const key of ['seed', 'signSeed', 'boxSecretKey']) {
      const secret = (v as Record<string, unknown>)[key]
      if (typeof secret === 'string') secrets.push(secret)
    }
  }
  return secrets
}
