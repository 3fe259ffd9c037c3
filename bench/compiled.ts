import { mkdir } from 'node:fs/promises'
import { basename, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { entryArgs } from '@metadome/testing'

const root = fileURLToPath(new URL('..', import.meta.url))
const cache = join(root, 'node_modules', '.cache', 'metadome-bench')

/**
 * How a measured server runs: compiled, as operators run it, with no loader
 * hook and no tsx. tsx compiles with esbuild's keepNames, which names every
 * closure made at run time through a property store of its own: 2.5 KiB of
 * heap per idle socket on the gateway, and CPU per message (measured). So an
 * app runs from its dist/ (tsc -b, which `npm run bench` runs first) and a
 * bench server (the relay, the Socket.IO peer) as an esbuild bundle of its
 * own code, its packages left to node_modules, the same way for both sides.
 */
export async function compiledEntry (entry: string): Promise<string[]> {
  const path = isAbsolute(entry) ? entry : join(root, entry)
  if (path.includes(`${join(root, 'apps')}/`)) {
    const args = entryArgs(path)
    if (args.length !== 1) throw new Error(`${entry} is not built: run tsc -b (npm run bench does)`)
    return args
  }
  await mkdir(cache, { recursive: true })
  const outfile = join(cache, basename(path).replace(/\.ts$/, '.mjs'))
  await build({ entryPoints: [path], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: `node${process.versions.node}`, logLevel: 'warning' })
  return [outfile]
}

/** A bench script (a load generator) bundled the same way, for fork(). */
export async function compiledScript (entry: string): Promise<string> {
  const [script] = await compiledEntry(entry)
  if (script === undefined) throw new Error(`${entry} did not compile`)
  return script
}
