import t from 'tap'
import { TOTP, Secret } from 'otpauth'
import { startStack, signUp } from '@metadome/e2e'
import { Accounts, ChatClient, MemoryKeyStore, isChatClientError } from '../src/index.js'

// The SDK's account calls against the real auth-api: a sign-in with TOTP in
// two steps, kept in a store that ChatClient.resume then continues, and an
// admin disabling a user and reading the audit log.

const stack = await startStack(t, { gateways: 1 })
const PASSWORD = 'correct horse battery staple'

t.test('login answers mfa_required once TOTP is on; completeMfa signs in; the store keeps the session', async (t) => {
  const anonymous = new Accounts(stack.authUrl)
  const first = await anonymous.login('nobody-here', PASSWORD).catch((err: unknown) => err)
  t.ok(isChatClientError(first, 'invalid_credentials'))

  await ChatClient.register({ authUrl: stack.authUrl, username: 'sdkalice', password: PASSWORD })
  const step = await anonymous.login('sdkalice', PASSWORD)
  t.equal(step.kind, 'signed_in')
  const store = new MemoryKeyStore()
  if (step.kind !== 'signed_in') return
  await Accounts.keep(store, step.tokens)
  const accounts = await Accounts.resume({ authUrl: stack.authUrl, keyStore: store, userId: step.tokens.user.id })
  const { secret } = await accounts.enrollTotp(PASSWORD)
  const codes = await accounts.confirmTotp(new TOTP({ secret: Secret.fromBase32(secret) }).generate())
  t.equal(codes.length, 10)
  t.match(await accounts.me(), { mfa: { totp: true, passkeys: 0 } })

  const mfa = await anonymous.login('sdkalice', PASSWORD)
  t.equal(mfa.kind, 'mfa_required')
  if (mfa.kind !== 'mfa_required') return
  const wrong = await anonymous.completeMfa(mfa.mfaToken, 'zzzzz-zzzzz').catch((err: unknown) => err)
  t.ok(isChatClientError(wrong, 'unauthorized'))
  const tokens = await anonymous.completeMfa(mfa.mfaToken, codes[0] ?? '')
  const other = new MemoryKeyStore()
  await Accounts.keep(other, tokens)
  const client = await ChatClient.resume({ authUrl: stack.authUrl, gatewayUrl: stack.gatewayUrls, userId: tokens.user.id, keyStore: other, connect: false })
  t.teardown(async () => { await client.close() })
  t.equal(client.user.username, 'sdkalice')
  t.equal((await client.sessions()).length, 2)
})

t.test('an admin disables a user and reads the audit log', async (t) => {
  const root = await signUp(stack.auth, 'sdkroot')
  await stack.sql.query('update auth.users set role = $1 where id = $2', ['admin', root.id])
  const bob = await signUp(stack.auth, 'sdkbob')
  const store = new MemoryKeyStore()
  const step = await new Accounts(stack.authUrl).login('sdkroot', PASSWORD)
  if (step.kind !== 'signed_in') throw new Error('root has no MFA')
  await Accounts.keep(store, step.tokens)
  const admin = await Accounts.resume({ authUrl: stack.authUrl, keyStore: store, userId: root.id })
  t.match(await admin.setDisabled(bob.id, true), { id: bob.id, disabled: true })
  const refused = await new Accounts(stack.authUrl).login('sdkbob', PASSWORD).catch((err: unknown) => err)
  t.ok(isChatClientError(refused, 'forbidden'), 'a disabled user cannot sign in')
  const page = await admin.audit({ userId: bob.id, limit: 2 })
  t.same(page.items.map((e) => e.action), ['login.failed', 'user.disabled'])
  t.type(page.nextCursor, 'string')
  const rest = await admin.audit({ userId: bob.id, cursor: page.nextCursor ?? '' })
  t.ok(rest.items.some((e) => e.action === 'user.registered'))
  t.ok(isChatClientError(await new Accounts(stack.authUrl).audit().catch((err: unknown) => err), 'not_signed_in'))
})
