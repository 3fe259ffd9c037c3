// Where a client keeps what must survive a restart: the account key, this
// device's keys, the session's tokens, the contacts' pinned account keys,
// the sync cursor and the texts this device sent (the sending device is not
// a recipient of its own envelope, so its sent text exists nowhere else).
// Values are plain JSON. Names are "<userId>/<what>", so one store can serve
// several accounts. The Node file store (mode 0600) is in ./node.ts; a
// browser app may pass an IndexedDB-backed one.

export interface KeyStore {
  get: (name: string) => Promise<unknown>
  set: (name: string, value: unknown) => Promise<void>
  delete: (name: string) => Promise<void>
}

/** Keeps everything in memory: keys last as long as the process (a new device per run). */
export class MemoryKeyStore implements KeyStore {
  readonly #values = new Map<string, string>()

  async get (name: string): Promise<unknown> {
    const v = this.#values.get(name)
    // Stored as text so that callers never share (and mutate) one object.
    return v === undefined ? undefined : JSON.parse(v)
  }

  async set (name: string, value: unknown): Promise<void> {
    this.#values.set(name, JSON.stringify(value))
  }

  async delete (name: string): Promise<void> {
    this.#values.delete(name)
  }
}

export const storeNames = (userId: string) => ({
  account: `${userId}/account`,
  device: `${userId}/device`,
  counter: `${userId}/counter`,
  session: `${userId}/session`,
  pins: `${userId}/pins`,
  cursor: `${userId}/cursor`,
  sent: `${userId}/sent`
})
