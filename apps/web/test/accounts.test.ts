import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { Secret, TOTP } from 'otpauth'
import { startStack } from '@metadome/e2e'
import { freePort, type Teardown } from '@metadome/testing'
import { DESKTOP, PASSWORD, PHONE, launch, screenshot, serveWeb, signInForm, visit } from './helpers/browser.js'
import { mailReceiver } from '@metadome/testing/mail'

// The account screens in real Chromium against the real services: password
// recovery and email verification through real mails (an SMTP server in this
// test), two-factor sign-in turned on and off in Settings with codes computed
// here as an authenticator app does, and passkeys made and used by
// Chromium's virtual authenticator. The page is opened at localhost (a
// passkey's relying party is a host name, never an IP address), which is
// auth-api's PUBLIC_URL here: its mailed links and passkey origin point at
// this web server. The subtests run in order; each has its own person.

const port = await freePort()
const origin = `http://localhost:${port}`
const inbox = await mailReceiver(t)
const stack = await startStack(t, {
  gateways: 1,
  // Every request comes from the web server's one address: the per-IP limit would be one person's.
  authEnv: { SMTP_URL: inbox.url, PUBLIC_URL: origin, AUTH_RATE_LIMIT_PER_MINUTE: '1000' }
})
await serveWeb(t, stack, port)
const browser = await launch(t)

async function register (username: string, email?: string): Promise<void> {
  const res = await fetch(`${stack.authUrl}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, ...(email !== undefined && { email }) })
  })
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`)
}

async function open (t: Teardown, viewport = DESKTOP): Promise<{ context: BrowserContext, page: Page }> {
  const opened = await visit(browser, origin, viewport)
  t.teardown(async () => { await opened.context.close() })
  return opened
}

async function signInWith (page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(username)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

const conversations = (page: Page) => page.getByRole('list', { name: 'Conversations', exact: true })

async function settings (page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Settings', exact: true }).click()
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor()
}

async function signOut (page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await page.getByLabel('Username', { exact: true }).waitFor()
}

t.test('forgot password: the mailed link opens a page that sets a new one; the old fails, and the link works once', async (t) => {
  await register('frank', 'frank@example.com')
  const { page } = await open(t, PHONE)
  const forgot = async (who: string): Promise<void> => {
    await page.getByRole('button', { name: 'Forgot password?', exact: true }).click()
    await page.getByLabel('Username or email', { exact: true }).fill(who)
    await page.getByRole('button', { name: 'Send reset link', exact: true }).click()
    await page.getByRole('status').getByText(/^If an account with that name or address/).waitFor()
  }
  await forgot('nobody-at-all')
  const unknownAnswer = await page.getByRole('status').textContent()
  await page.getByRole('button', { name: 'Back to sign in', exact: true }).click()
  await forgot('frank@example.com')
  t.equal(await page.getByRole('status').textContent(), unknownAnswer, 'the same answer for an unknown account')
  await screenshot(page, 'forgot-password-phone')
  const mail = await inbox.nth(1)
  t.same(mail.to, ['frank@example.com'])
  t.equal(inbox.mails.length, 1, 'no mail for the unknown account')
  t.ok(mail.link.startsWith(`${origin}/reset-password?token=`), 'the link points at this page')

  await page.goto(mail.link)
  const fresh = 'a new passphrase for frank'
  await page.getByLabel('New password', { exact: true }).fill(fresh)
  await page.getByLabel('Repeat new password', { exact: true }).fill(`${fresh}!`)
  await page.getByRole('button', { name: 'Set new password', exact: true }).click()
  await page.getByRole('alert').getByText('The two passwords are not the same.', { exact: true }).waitFor()
  await page.getByLabel('New password', { exact: true }).fill('short')
  await page.getByLabel('Repeat new password', { exact: true }).fill('short')
  await page.getByRole('button', { name: 'Set new password', exact: true }).click()
  await page.getByRole('alert').getByText('Choose a password of at least 8 characters.', { exact: true }).waitFor()
  await screenshot(page, 'reset-password-phone')
  await page.getByLabel('New password', { exact: true }).fill(fresh)
  await page.getByLabel('Repeat new password', { exact: true }).fill(fresh)
  await page.getByRole('button', { name: 'Set new password', exact: true }).click()
  await page.getByRole('status').getByText(/^Your password was changed/).waitFor()
  t.equal(new URL(page.url()).pathname, '/', 'back at sign-in, the token out of the address')
  t.equal(new URL(page.url()).search, '')

  await signInWith(page, 'frank', PASSWORD)
  await page.getByRole('alert').getByText('Wrong username or password.', { exact: true }).waitFor()
  await signInWith(page, 'frank', fresh)
  await conversations(page).waitFor({ state: 'attached' })
  t.pass('the new password signs in')

  const again = await open(t, DESKTOP)
  await again.page.goto(mail.link)
  await again.page.getByLabel('New password', { exact: true }).fill('yet another passphrase')
  await again.page.getByLabel('Repeat new password', { exact: true }).fill('yet another passphrase')
  await again.page.getByRole('button', { name: 'Set new password', exact: true }).click()
  await again.page.getByRole('alert').getByText(/^The link is invalid, expired/).waitFor()
  t.pass('a spent link says so')
  await again.page.goto(`${origin}/reset-password?token=cut-short`)
  await again.page.getByRole('alert').getByText(/^This link is incomplete/).waitFor()
})

t.test('settings send a verification mail; its link verifies the address once', async (t) => {
  await register('grace', 'grace@example.com')
  const { page } = await open(t)
  await signInWith(page, 'grace', PASSWORD)
  await conversations(page).waitFor({ state: 'attached' })
  await settings(page)
  const email = page.getByRole('region', { name: 'Email address', exact: true })
  await email.getByText('Not verified', { exact: true }).waitFor()
  const before = inbox.mails.length
  await email.getByRole('button', { name: 'Send verification mail', exact: true }).click()
  await email.getByRole('status').getByText(/^A link is on its way to grace@example.com/).waitFor()
  await screenshot(page, 'settings-desktop')
  const mail = await inbox.nth(before + 1)
  t.same(mail.to, ['grace@example.com'])
  t.ok(mail.link.startsWith(`${origin}/verify-email?token=`), 'the link points at this page')

  await page.goto(mail.link)
  await page.getByRole('status').getByText('Your email address is verified.', { exact: true }).waitFor()
  await page.getByRole('button', { name: 'Continue to metadome', exact: true }).click()
  await conversations(page).waitFor({ state: 'attached' })
  t.equal(new URL(page.url()).pathname, '/', 'on into the app, still signed in')
  await settings(page)
  await email.getByText('Verified', { exact: true }).waitFor()
  t.equal(await email.getByRole('button', { name: 'Send verification mail', exact: true }).count(), 0, 'nothing more to send')

  await page.goto(mail.link)
  await page.getByRole('alert').getByText(/^The link is invalid, expired/).waitFor()
  t.pass('the link works once')
})

t.test('two-factor sign-in turned on in settings: the password first, then a code; sign-in asks for one; off with password and code', async (t) => {
  await register('ivan')
  const { page } = await open(t)
  await signInWith(page, 'ivan', PASSWORD)
  await conversations(page).waitFor({ state: 'attached' })
  await settings(page)
  const totp = page.getByRole('region', { name: 'Two-factor sign-in', exact: true })
  await totp.getByRole('button', { name: 'Turn on two-factor sign-in', exact: true }).click()
  await totp.getByLabel('Current password', { exact: true }).fill('not my password')
  await totp.getByRole('button', { name: 'Continue', exact: true }).click()
  await totp.getByRole('alert').getByText('Wrong password.', { exact: true }).waitFor()
  await totp.getByLabel('Current password', { exact: true }).fill(PASSWORD)
  await totp.getByRole('button', { name: 'Continue', exact: true }).click()
  const address = await totp.getByText(/^otpauth:\/\/totp\//).textContent() ?? ''
  const secret = new URL(address).searchParams.get('secret') ?? ''
  const shown = (await totp.locator('dd code').first().textContent() ?? '').replace(/\s/g, '')
  t.equal(shown, secret, 'the secret key to type is the one in the address')
  const codeAt = (offset: number): string => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset * 30_000 })
  const wrong = ['000000', '111111', '222222'].find((c) => ![-1, 0, 1].map(codeAt).includes(c)) ?? '333333'
  await totp.getByLabel('Code from your app', { exact: true }).fill(wrong)
  await totp.getByRole('button', { name: 'Turn on', exact: true }).click()
  await totp.getByRole('alert').getByText(/^That code did not work/).waitFor()
  await totp.getByLabel('Code from your app', { exact: true }).fill('12345')
  await totp.getByRole('button', { name: 'Turn on', exact: true }).click()
  await totp.getByRole('alert').getByText('Enter the six digits your authenticator app shows.', { exact: true }).waitFor()
  await screenshot(page, 'totp-setup-desktop')
  await totp.getByLabel('Code from your app', { exact: true }).fill(codeAt(0))
  await totp.getByRole('button', { name: 'Turn on', exact: true }).click()
  const list = totp.getByRole('list', { name: 'Recovery codes', exact: true })
  await list.waitFor()
  const recovery = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim())
  t.equal(recovery.length, 10, 'ten recovery codes, shown once')
  t.match(recovery[0], /^[a-z0-9]{5}-[a-z0-9]{5}$/i)
  await totp.getByRole('button', { name: 'I saved my recovery codes', exact: true }).click()
  await totp.getByRole('button', { name: 'Turn off two-factor sign-in', exact: true }).waitFor()
  t.equal(await list.count(), 0, 'the codes are gone from the screen')

  await signOut(page)
  await signInWith(page, 'ivan', PASSWORD)
  // The next step's code: confirm spent this one.
  await page.getByLabel('Authentication code', { exact: true }).fill(codeAt(1))
  await page.getByRole('button', { name: 'Verify', exact: true }).click()
  await conversations(page).waitFor({ state: 'attached' })
  t.pass('sign-in took the code')

  await settings(page)
  await totp.getByLabel('Current password', { exact: true }).fill(PASSWORD)
  await totp.getByLabel('Authentication code', { exact: true }).fill(wrong)
  await totp.getByRole('button', { name: 'Turn off two-factor sign-in', exact: true }).click()
  await totp.getByRole('alert').getByText(/^Wrong password, or the code is wrong/).waitFor()
  await totp.getByLabel('Authentication code', { exact: true }).fill(recovery[0] ?? '')
  await totp.getByRole('button', { name: 'Turn off two-factor sign-in', exact: true }).click()
  await totp.getByRole('status').getByText('Two-factor sign-in is off.', { exact: true }).waitFor()
  await totp.getByRole('button', { name: 'Turn on two-factor sign-in', exact: true }).waitFor()

  await signOut(page)
  await signInWith(page, 'ivan', PASSWORD)
  await conversations(page).waitFor({ state: 'attached' })
  t.pass('the password alone signs in again')
})

t.test('passkeys: added in settings, renamed, used to sign in here and on a new device (which starts over with the password), removed', async (t) => {
  const first = await open(t)
  const authenticator = await virtualAuthenticator(first.page)
  await signInForm(first.page, 'heidi', 'Create account')
  await settings(first.page)
  const passkeys = first.page.getByRole('region', { name: 'Passkeys', exact: true })
  await passkeys.getByText('No passkeys yet.', { exact: true }).waitFor()
  await passkeys.getByLabel('Passkey name', { exact: true }).fill('Test key')
  await passkeys.getByRole('button', { name: 'Add a passkey', exact: true }).click()
  await passkeys.getByRole('status').getByText('Passkey "Test key" added. You can sign in with it instead of your password.', { exact: true }).waitFor()
  const list = passkeys.getByRole('list', { name: 'Passkeys', exact: true })
  await list.getByText('never used to sign in', { exact: false }).waitFor()
  const stored = await authenticator.credentials()
  t.equal(stored.length, 1, 'the authenticator holds one passkey')
  t.equal(stored[0]?.rpId, 'localhost')

  await passkeys.getByRole('button', { name: 'Add a passkey', exact: true }).click()
  await passkeys.getByRole('alert').getByText('This passkey is already on your account.', { exact: true }).waitFor()
  t.pass('the same authenticator cannot add itself twice')

  await list.getByRole('button', { name: 'Rename Test key', exact: true }).click()
  await list.getByLabel('New name for Test key', { exact: true }).fill('Work laptop')
  await list.getByRole('button', { name: 'Save', exact: true }).click()
  await list.getByText('Work laptop', { exact: true }).waitFor()
  await screenshot(first.page, 'passkeys-desktop')

  await signOut(first.page)
  await first.page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click()
  await conversations(first.page).waitFor({ state: 'attached' })
  t.pass('signed in with the passkey, no password')

  // Another device with the same passkey (as a synced one would be): it has none of heidi's keys.
  const second = await open(t, PHONE)
  const other = await virtualAuthenticator(second.page)
  // Copied as it is now: auth-api refuses a signature counter that did not grow (a cloned authenticator).
  for (const c of await authenticator.credentials()) await other.add(c)
  await second.page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click()
  await second.page.getByRole('status').getByText('The keys of heidi are on another device. Sign in there, or start over with new keys on this one.', { exact: true }).waitFor()
  await screenshot(second.page, 'passkey-new-keys-phone')
  await second.page.getByLabel('Password', { exact: true }).fill('not my password')
  await second.page.getByRole('button', { name: 'Sign in with new keys', exact: true }).click()
  await second.page.getByRole('alert').getByText('Wrong password.', { exact: true }).waitFor()
  await second.page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await second.page.getByRole('button', { name: 'Sign in with new keys', exact: true }).click()
  await conversations(second.page).waitFor({ state: 'attached' })
  t.pass('the new device started over with new keys')

  await settings(second.page)
  const there = second.page.getByRole('region', { name: 'Passkeys', exact: true })
  await there.getByText(/last used/).waitFor()
  await there.getByRole('button', { name: 'Remove Work laptop', exact: true }).click()
  await there.getByRole('button', { name: 'Yes, remove Work laptop', exact: true }).click()
  await there.getByText('No passkeys yet.', { exact: true }).waitFor()

  await signOut(second.page)
  await second.page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click()
  await second.page.getByRole('alert').getByText(/^That passkey is not known here/).waitFor()
  t.pass('a removed passkey no longer signs in')
})

interface VirtualCredential { credentialId: string, isResidentCredential: boolean, rpId?: string, privateKey: string, userHandle?: string, signCount: number }

/** Chromium's virtual authenticator for this page (DevTools protocol): it answers WebAuthn ceremonies as a platform authenticator with a screen lock would. */
async function virtualAuthenticator (page: Page): Promise<{ credentials: () => Promise<VirtualCredential[]>, add: (c: VirtualCredential) => Promise<void> }> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true }
  })
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    add: async (credential) => { await cdp.send('WebAuthn.addCredential', { authenticatorId, credential }) }
  }
}
