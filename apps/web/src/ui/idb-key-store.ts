import type { KeyStore } from '@metadome/client'

// The SDK's KeyStore on IndexedDB: this device's private keys, the account
// key, the session's tokens, pinned contact keys, the sync cursor and the
// texts sent from here, one record per name. IndexedDB is the browser's
// storage for this: it is per origin, survives reloads and restarts, and
// holds structured values without a size limit that matters here. Nothing in
// it is ever sent anywhere: the SDK publishes public halves only. (What the
// README says about the limits of this: an injected script in this origin
// could read it, which is why the page's CSP is strict.)

const DB_NAME = 'metadome'
const STORE = 'keys'

function promised<T> (req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => { resolve(req.result) }
    req.onerror = () => { reject(req.error ?? new Error('IndexedDB request failed')) }
  })
}

export class IndexedDbKeyStore implements KeyStore {
  readonly #db: IDBDatabase

  private constructor (db: IDBDatabase) {
    this.#db = db
  }

  static async open (name = DB_NAME): Promise<IndexedDbKeyStore> {
    const req = indexedDB.open(name, 1)
    req.onupgradeneeded = () => { req.result.createObjectStore(STORE) }
    return new IndexedDbKeyStore(await promised(req))
  }

  async get (name: string): Promise<unknown> {
    const value: unknown = await promised(this.#db.transaction(STORE, 'readonly').objectStore(STORE).get(name))
    // Stored as JSON text, as the SDK's other stores do: a caller never gets
    // (and changes) an object another one holds.
    return typeof value === 'string' ? JSON.parse(value) : undefined
  }

  async set (name: string, value: unknown): Promise<void> {
    await this.#write((store) => store.put(JSON.stringify(value), name))
  }

  async delete (name: string): Promise<void> {
    await this.#write((store) => store.delete(name))
  }

  /** Resolves once the transaction committed, not merely when the request succeeded. */
  async #write (op: (store: IDBObjectStore) => IDBRequest): Promise<void> {
    const tx = this.#db.transaction(STORE, 'readwrite')
    op(tx.objectStore(STORE))
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => { resolve() }
      tx.onerror = () => { reject(tx.error ?? new Error('IndexedDB write failed')) }
      tx.onabort = () => { reject(tx.error ?? new Error('IndexedDB write aborted')) }
    })
  }
}
