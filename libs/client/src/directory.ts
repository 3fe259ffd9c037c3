import type { SignedDeviceList } from '@metadome/contracts'
import { canonicalJson, E2eeError, verifySignedDeviceList } from '@metadome/e2ee'
import type { KeyStore } from './key-store.js'

// Contacts' signed device lists, fetched from auth-api's key directory,
// verified, cached, and checked against the account key pinned for each
// contact (trust on first use, DESIGN.md "Verification"). A list whose
// account key differs from the pin is still returned, so the caller can show
// the new safety number, but sealing and opening are given the pin as the
// trusted key, so nothing is encrypted to (or accepted from) the new key
// until the user calls trust().

export interface KeyChange {
  userId: string
  /** The pinned account key. */
  previousKey: string
  /** The account key the directory now serves. */
  accountKey: string
}

interface Cached {
  list: SignedDeviceList
  fetchedAt: number
}

export interface DirectoryOptions {
  /** GET /v1/users/:id/keys, unverified. */
  fetch: (userId: string) => Promise<unknown>
  store: KeyStore
  pinsName: string
  self: { userId: string, accountKey: string }
  /** How long a fetched list serves before it is fetched again, unless a call says otherwise. */
  maxAgeMs: number
  onKeyChanged: (change: KeyChange) => void
}

export class Directory {
  readonly #o: DirectoryOptions
  readonly #cache = new Map<string, Cached>()
  readonly #inflight = new Map<string, Promise<SignedDeviceList>>()
  /** New keys already reported, so one change warns once. */
  readonly #reported = new Set<string>()
  #pins: Record<string, string> | undefined

  constructor (options: DirectoryOptions) {
    this.#o = options
  }

  /** A user's verified device list: cached if younger than `maxAgeMs`, fetched otherwise (always with `fresh`). */
  async list (userId: string, options: { fresh?: boolean, maxAgeMs?: number } = {}): Promise<SignedDeviceList> {
    const cached = this.#cache.get(userId)
    const maxAge = options.fresh === true ? -1 : options.maxAgeMs ?? this.#o.maxAgeMs
    if (cached !== undefined && Date.now() - cached.fetchedAt < maxAge) return cached.list
    let p = this.#inflight.get(userId)
    if (p === undefined) {
      p = this.#fetch(userId).finally(() => this.#inflight.delete(userId))
      this.#inflight.set(userId, p)
    }
    return await p
  }

  /** The account key trusted for a user: one's own, or the pin. */
  async trusted (userId: string): Promise<string | undefined> {
    if (userId === this.#o.self.userId) return this.#o.self.accountKey
    return (await this.#loadPins())[userId]
  }

  /** Whether the directory's key for `userId` differs from the pinned one. */
  async changed (userId: string): Promise<boolean> {
    const list = await this.list(userId)
    const pin = await this.trusted(userId)
    return pin !== undefined && pin !== list.accountKey
  }

  /** Pins the account key the directory serves now (after the user compared safety numbers). */
  async trust (userId: string): Promise<string> {
    const list = await this.list(userId, { fresh: true })
    const pins = await this.#loadPins()
    pins[userId] = list.accountKey
    await this.#o.store.set(this.#o.pinsName, pins)
    return list.accountKey
  }

  /** Forgets the cached list of a user (their own list after publishing, for one). */
  forget (userId: string): void {
    this.#cache.delete(userId)
  }

  async #fetch (userId: string): Promise<SignedDeviceList> {
    const raw = await this.#o.fetch(userId)
    const verified = await verifySignedDeviceList(raw)
    if (!verified.ok) throw new E2eeError('bad_device_list', `the device list of ${userId} does not verify: ${verified.reason}`)
    const list = raw as SignedDeviceList
    if (list.deviceList.userId !== userId) throw new E2eeError('bad_device_list', `the directory served the list of ${list.deviceList.userId} for ${userId}`)
    const cached = this.#cache.get(userId)?.list
    if (cached !== undefined) {
      // The directory may not roll a list back, nor show two lists under one version.
      if (list.deviceList.version < cached.deviceList.version) {
        throw new E2eeError('bad_device_list', `the directory served version ${list.deviceList.version} of ${userId}'s list after ${cached.deviceList.version}`)
      }
      if (list.deviceList.version === cached.deviceList.version && canonicalJson(list) !== canonicalJson(cached)) {
        throw new E2eeError('bad_device_list', `the directory served two different lists of ${userId} as version ${list.deviceList.version}`)
      }
    }
    if (userId !== this.#o.self.userId) {
      const pins = await this.#loadPins()
      const pin = pins[userId]
      if (pin === undefined) {
        pins[userId] = list.accountKey
        await this.#o.store.set(this.#o.pinsName, pins)
      } else if (pin !== list.accountKey && !this.#reported.has(`${userId}/${list.accountKey}`)) {
        this.#reported.add(`${userId}/${list.accountKey}`)
        this.#o.onKeyChanged({ userId, previousKey: pin, accountKey: list.accountKey })
      }
    }
    this.#cache.set(userId, { list, fetchedAt: Date.now() })
    return list
  }

  async #loadPins (): Promise<Record<string, string>> {
    if (this.#pins === undefined) {
      const stored = await this.#o.store.get(this.#o.pinsName)
      this.#pins = typeof stored === 'object' && stored !== null ? { ...(stored as Record<string, string>) } : {}
    }
    return this.#pins
  }
}
