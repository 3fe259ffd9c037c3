import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { KeyStore } from './key-store.js'

// The Node-only part of the SDK (`@metadome/client/node`): a key store in a
// folder, one JSON file per name, readable by its owner only. Private keys
// and session tokens are in these files, so the folder is 0700 and every
// file 0600, written to a temporary file and renamed over the old one (a
// crash never leaves half a key).

export class FileKeyStore implements KeyStore {
  readonly dir: string

  constructor (dir: string) {
    this.dir = dir
  }

  /** The file that holds `name`. */
  pathOf (name: string): string {
    if (!/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
      throw new TypeError(`not a key store name: ${name}`)
    }
    return join(this.dir, `${name.replaceAll('/', '.')}.json`)
  }

  async get (name: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.pathOf(name), 'utf8'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  async set (name: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    // mkdir leaves an existing folder's mode alone.
    await chmod(this.dir, 0o700)
    const path = this.pathOf(name)
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
    try {
      await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
      await rename(tmp, path)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
  }

  async delete (name: string): Promise<void> {
    await rm(this.pathOf(name), { force: true })
  }
}
