import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { generateAccountKey, generateDeviceKeys, publicDevice, signDeviceList, type AccountKeyPair } from '@metadome/e2ee'
import type { SignedDeviceList } from '@metadome/contracts'
import type { Teardown } from '@metadome/testing'
import { build, signUp, type Account } from '../helper.js'

// The set-up of the key directory attacks: a victim who published a device
// list signed by their account key, and an attacker who holds the victim's
// access token (copied from a browser, a log, a proxy) but not the password.

export interface KeyTarget {
  app: FastifyInstance
  victim: Account
  /** The victim's account key, which only the victim's devices hold. */
  account: AccountKeyPair
  published: SignedDeviceList
  /** A list for the victim at `version`, with one new device, signed by `key`. */
  list: (key: AccountKeyPair, version: number) => Promise<SignedDeviceList>
  /** PUT /v1/users/me/keys with the victim's (stolen) access token, from `ip` (the victim's own by default). */
  put: (body: Record<string, unknown>, ip?: string) => Promise<LightMyRequestResponse>
  /** What everyone else reads as the victim's keys. */
  read: () => Promise<SignedDeviceList>
}

export async function keyTarget (t: Teardown): Promise<KeyTarget> {
  const { app } = await build(t)
  const victim = await signUp(app, 'victim')
  const account = await generateAccountKey()
  const list = async (key: AccountKeyPair, version: number): Promise<SignedDeviceList> =>
    await signDeviceList(key.secretKey, { userId: victim.id, version, issuedAt: new Date().toISOString(), devices: [await publicDevice(await generateDeviceKeys())] })
  const put = async (body: Record<string, unknown>, ip?: string): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'PUT', url: '/v1/users/me/keys', headers: victim.auth, payload: body, ...(ip !== undefined && { remoteAddress: ip }) })
  const published = await list(account, 1)
  const first = await put(published)
  if (first.statusCode !== 200) throw new Error(`publish: ${first.statusCode} ${first.body}`)
  const read = async (): Promise<SignedDeviceList> =>
    (await app.inject({ url: `/v1/users/${victim.id}/keys`, headers: victim.auth })).json<SignedDeviceList>()
  return { app, victim, account, published, list, put, read }
}
