import t, { type Test } from 'tap'
import { chmod, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FileKeyStore } from '../src/node.js'
import { tempDir } from '@metadome/testing'

async function folder (t: Test): Promise<string> {
  const dir = await tempDir(t, 'mdstore-')
  return dir
}

t.test('values are kept in files only their owner can read, in a folder only they can enter', async (t) => {
  const base = await folder(t)
  const store = new FileKeyStore(join(base, 'store'))
  t.equal(await store.get('u/device'), undefined, 'nothing yet')
  await store.set('u/device', { secret: 'k' })
  t.same(await store.get('u/device'), { secret: 'k' })
  t.equal((await stat(join(base, 'store'))).mode & 0o777, 0o700)
  t.equal((await stat(store.pathOf('u/device'))).mode & 0o777, 0o600)
  await store.set('u/device', { secret: 'k2' })
  t.same(await store.get('u/device'), { secret: 'k2' }, 'replaced whole')
  t.same(await readdir(join(base, 'store')), ['u.device.json'], 'no temporary file left behind')
  await store.delete('u/device')
  t.equal(await store.get('u/device'), undefined)
})

t.test('a folder that was too open is closed to others on the next write', async (t) => {
  const base = await folder(t)
  const store = new FileKeyStore(base)
  await writeFile(join(base, 'other'), 'x')
  await chmod(base, 0o755)
  await store.set('u/session', { token: 't' })
  t.equal((await stat(base)).mode & 0o777, 0o700)
})

t.test('names cannot leave the folder', async (t) => {
  const store = new FileKeyStore(await folder(t))
  for (const name of ['../x', 'u/../../x', '/etc/passwd', 'a\\b', '']) {
    t.throws(() => store.pathOf(name), TypeError, JSON.stringify(name))
  }
})
