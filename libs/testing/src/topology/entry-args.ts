import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The monorepo's root, from libs/testing/{src,dist}/topology/. */
const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..')

/** The arguments that run a TypeScript entry point from source, as `npm start` does. */
const sourceEntryArgs = (entry: string): string[] => ['--import', 'tsx', '--conditions=@metadome/source', entry]

/**
 * The arguments that run an entry point of this repository (`<package>/src/x.ts`):
 * its compiled `dist/x.js` when `tsc -b` has built every source file of the
 * package and of every lib since it last changed (`npm test` builds first),
 * else the source through tsx. A process started from dist/ needs about half
 * the CPU: module loader hooks cost more than the code they load.
 */
export function entryArgs (entry: string): string[] {
  const compiled = entry.replace(`${sep}src${sep}`, `${sep}dist${sep}`).replace(/\.tsx?$/, '.js')
  return compiled !== entry && built(packageOf(entry)) ? [compiled] : sourceEntryArgs(entry)
}

function packageOf (entry: string): string {
  const at = entry.lastIndexOf(`${sep}src${sep}`)
  return at < 0 ? dirname(entry) : entry.slice(0, at)
}

const known = new Map<string, boolean>()

function built (pkg: string): boolean {
  let fresh = known.get(pkg)
  if (fresh === undefined) {
    const libs = readdirSync(join(root, 'libs')).map((name) => join(root, 'libs', name))
    fresh = [pkg, ...libs].every((dir) => sourcesBuilt(join(dir, 'src')))
    known.set(pkg, fresh)
  }
  return fresh
}

/** Every .ts under `src` has its .js under the sibling dist/, written after it. */
function sourcesBuilt (src: string): boolean {
  if (!existsSync(src)) return true
  const dist = join(src, '..', 'dist')
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!/\.tsx?$/.test(file) || file.endsWith('.d.ts')) continue
    const from = join(src, file)
    const to = join(dist, file.replace(/\.tsx?$/, '.js'))
    if (!existsSync(to) || statSync(to).mtimeMs < statSync(from).mtimeMs) return false
  }
  return true
}
