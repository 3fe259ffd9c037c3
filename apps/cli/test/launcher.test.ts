import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFile, stat, utimes } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { BIN } from './helpers/cli.js'

// bin/metadome.js runs a cached esbuild bundle of src/: it must be rebuilt
// when a file it holds changes, and reused otherwise.
const CACHE = fileURLToPath(new URL('../node_modules/.cache/metadome/', import.meta.url))
const SOURCE = fileURLToPath(new URL('../src/errors.ts', import.meta.url))
const help = (): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } })
const builtAt = async (): Promise<number> => (JSON.parse(await readFile(`${CACHE}cli.inputs.json`, 'utf8')) as { builtAt: number }).builtAt

t.test('the bundle is reused while its sources are unchanged, and rebuilt after one changes', async (t) => {
  t.match(help().stdout, /usage: metadome/)
  const first = await builtAt()
  const inputs = (JSON.parse(await readFile(`${CACHE}cli.inputs.json`, 'utf8')) as { inputs: string[] }).inputs
  t.ok(inputs.some((file) => file.endsWith('libs/client/src/index.ts')), 'the SDK\'s source is in it')
  t.notOk(inputs.some((file) => file.includes('node_modules')), 'dependencies stay outside')

  t.match(help().stdout, /usage: metadome/)
  t.equal(await builtAt(), first, 'reused')

  // A later modification time is all an edit changes that the launcher reads.
  const { atime } = await stat(SOURCE)
  const later = new Date(Date.now() + 1_000)
  await utimes(SOURCE, atime, later)
  const run = help()
  t.equal(run.status, 0, String(run.stderr))
  t.ok(await builtAt() > first, 'rebuilt')
})
