import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, makeAdmin, signUp, type Account } from '../helper.js'
import { SoftAuthenticator } from '../soft-authenticator.js'

// Passkeys with a software authenticator (../soft-authenticator.ts): its
// own ES256 key, "none" attestation, and the bytes built by hand, so what
// @simplewebauthn/server checks is a real ceremony's.

const ORIGIN = 'https://chat.example.com'
const RP_ID = 'chat.example.com'

async function register (app: FastifyInstance, who: Account, device: SoftAuthenticator, name?: string, overrides: { origin?: string } = {}) {
  const options = (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: who.auth })).json()
  return await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register', headers: who.auth, payload: { ...(name !== undefined && { name }), credential: device.create(options, overrides) } })
}

async function loginOptions (app: FastifyInstance): Promise<{ challenge: string }> {
  return (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/login-options' })).json()
}

const login = async (app: FastifyInstance, credential: unknown) => await app.inject({ method: 'POST', url: '/v1/auth/passkeys/login', payload: { credential } })

t.test('passkeys: register several, sign in with one instead of a password, rename, remove', async (t) => {
  const { app } = await build(t, { PUBLIC_URL: `${ORIGIN}/` })
  const alice = await signUp(app, 'alice')
  const phone = new SoftAuthenticator(RP_ID, ORIGIN)
  const laptop = new SoftAuthenticator(RP_ID, ORIGIN)

  const options = (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: alice.auth })).json()
  t.match(options, { rp: { id: RP_ID, name: 'metadome' }, user: { name: 'alice' }, attestation: 'none', challenge: /^[A-Za-z0-9_-]+$/, authenticatorSelection: { residentKey: 'required' } })
  const first = await register(app, alice, phone, 'Phone')
  t.equal(first.statusCode, 201, first.body)
  t.match(first.json().passkey, { name: 'Phone', lastUsedAt: null, id: /^[0-9a-f-]{36}$/ })
  const second = await register(app, alice, laptop)
  t.equal(second.json().passkey.name, 'Passkey 2', 'a default name')
  const excluded = (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: alice.auth })).json()
  t.same(excluded.excludeCredentials.map((c: { id: string }) => c.id).sort(), [phone.id, laptop.id].sort(), 'the authenticator is told which it holds already')
  t.equal((await register(app, alice, phone)).json().error.code, 'passkey_exists')

  const ok = await login(app, phone.get(await loginOptions(app)))
  t.equal(ok.statusCode, 200, ok.body)
  t.match(ok.json(), { tokenType: 'Bearer', user: { id: alice.id, username: 'alice' } })
  const auth = { authorization: `Bearer ${ok.json().accessToken as string}` }
  t.equal((await app.inject({ url: '/v1/users/me', headers: auth })).json().user.mfa.passkeys, 2)

  const list = (await app.inject({ url: '/v1/auth/passkeys', headers: auth })).json().items
  t.equal(list.length, 2)
  t.ok(list.find((p: { name: string }) => p.name === 'Phone').lastUsedAt, 'last used is kept')
  const laptopId = second.json().passkey.id as string
  const renamed = await app.inject({ method: 'PATCH', url: `/v1/auth/passkeys/${laptopId}`, headers: auth, payload: { name: 'Work laptop' } })
  t.equal(renamed.json().passkey.name, 'Work laptop')
  t.equal((await app.inject({ method: 'PATCH', url: `/v1/auth/passkeys/${laptopId}`, headers: auth, payload: { name: '' } })).statusCode, 400)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/auth/passkeys/${laptopId}`, headers: auth })).statusCode, 204)
  t.equal((await login(app, laptop.get(await loginOptions(app)))).json().error.code, 'passkey_refused', 'a removed passkey signs in no more')

  t.test('someone else cannot see, rename or remove them', async (t) => {
    const bob = await signUp(app, 'bob')
    const phoneId = first.json().passkey.id as string
    t.same((await app.inject({ url: '/v1/auth/passkeys', headers: bob.auth })).json().items, [])
    t.equal((await app.inject({ method: 'PATCH', url: `/v1/auth/passkeys/${phoneId}`, headers: bob.auth, payload: { name: 'mine' } })).statusCode, 404)
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/auth/passkeys/${phoneId}`, headers: bob.auth })).statusCode, 404)
  })

  t.test('a disabled user cannot sign in with a passkey either', async (t) => {
    const root = await signUp(app, 'root')
    await makeAdmin(app, root.id)
    await app.inject({ method: 'PATCH', url: `/v1/users/${alice.id}`, headers: root.auth, payload: { disabled: true } })
    const res = await login(app, phone.get(await loginOptions(app)))
    t.equal(res.statusCode, 403)
    t.equal(res.json().error.code, 'account_disabled')
  })
})

t.test('refused: another origin, a replayed assertion, a counter that does not grow, a challenge not ours', async (t) => {
  const { app } = await build(t, { PUBLIC_URL: `${ORIGIN}/` })
  const carol = await signUp(app, 'carol')
  const key = new SoftAuthenticator(RP_ID, ORIGIN)

  const phished = await register(app, carol, key, undefined, { origin: 'https://chat.example.com.evil.test' })
  t.equal(phished.statusCode, 400)
  t.equal(phished.json().error.code, 'passkey_refused', 'registration from another origin')
  t.equal((await register(app, carol, new SoftAuthenticator('evil.test', ORIGIN))).json().error.code, 'passkey_refused', 'another relying party')
  t.equal((await register(app, carol, key)).statusCode, 201)

  const refused = async (credential: unknown, why: string) => {
    const res = await login(app, credential)
    t.equal(res.statusCode, 401, why)
    t.equal(res.json().error.code, 'passkey_refused', why)
  }
  await refused(key.get(await loginOptions(app), { origin: 'https://evil.test' }), 'an assertion made for another origin')
  const assertion = key.get(await loginOptions(app))
  t.equal((await login(app, assertion)).statusCode, 200)
  await refused(assertion, 'the same assertion again (its challenge is spent)')
  await refused(key.get(await loginOptions(app), { keepCounter: true }), 'a fresh challenge but a counter that did not grow (a clone)')
  await refused(key.get({ challenge: Buffer.from('a challenge we never gave').toString('base64url') }), 'a challenge of our own making')
  const registration = (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: carol.auth })).json()
  await refused(key.get(registration), 'a registration challenge used to sign in')
  await refused({ ...key.get(await loginOptions(app)), id: 'AAAA', rawId: 'AAAA' }, 'an unknown passkey')
  t.equal((await login(app, key.get(await loginOptions(app)))).statusCode, 200, 'the genuine authenticator still signs in')

  t.test('bodies are checked', async (t) => {
    t.equal((await login(app, { id: 'x' })).statusCode, 400)
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/passkeys/login', payload: {} })).statusCode, 400)
    const c = key.get(await loginOptions(app))
    t.equal((await login(app, { ...c, extra: 1 })).statusCode, 400)
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register', headers: carol.auth, payload: { credential: c } })).statusCode, 400)
    t.equal((await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options' })).statusCode, 401)
  })
})

t.test('WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS override PUBLIC_URL: the options name that id, and only those origins are accepted', async (t) => {
  const { app } = await build(t, { PUBLIC_URL: `${ORIGIN}/`, WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://app.example.com,https://other.example.com' })
  const dan = await signUp(app, 'dan')
  const options = (await app.inject({ method: 'POST', url: '/v1/auth/passkeys/register-options', headers: dan.auth })).json()
  t.equal(options.rp.id, 'example.com', 'rp.id is WEBAUTHN_RP_ID, not PUBLIC_URL\'s host')

  const fromPublicUrl = await register(app, dan, new SoftAuthenticator('example.com', ORIGIN))
  t.equal(fromPublicUrl.statusCode, 400)
  t.equal(fromPublicUrl.json().error.code, 'passkey_refused', 'PUBLIC_URL\'s origin is not in WEBAUTHN_ORIGINS')
  t.equal((await register(app, dan, new SoftAuthenticator(RP_ID, 'https://app.example.com'))).json().error.code, 'passkey_refused', 'PUBLIC_URL\'s host as the relying party')
  const key = new SoftAuthenticator('example.com', 'https://app.example.com')
  t.equal((await register(app, dan, key)).statusCode, 201, 'a listed origin and WEBAUTHN_RP_ID')

  const refused = await login(app, key.get(await loginOptions(app), { origin: ORIGIN }))
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().error.code, 'passkey_refused', 'signing in from an origin not listed')
  t.equal((await login(app, key.get(await loginOptions(app), { origin: 'https://other.example.com' }))).statusCode, 200, 'the second listed origin')
  t.equal((await login(app, key.get(await loginOptions(app)))).statusCode, 200, 'the first')
})
