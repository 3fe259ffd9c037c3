#!/usr/bin/env node
// `metadome`: the terminal client. esbuild bundles its TypeScript source,
// with the workspace packages' sources (the @metadome/source condition), into
// one cached file, which then runs in this process: a command starts in a
// fraction of the time a TypeScript loader takes (about two seconds of CPU
// for every command). The bundle is built again whenever a file it was built
// from has changed since, so an edit to src/ is always what runs.
// Dependencies from node_modules stay outside the bundle and load as usual.
import { build } from 'esbuild'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
// Inside the package, so that the bundle's imports of dependencies resolve
// through the same node_modules folders as the source's.
const cache = join(root, 'node_modules', '.cache', 'metadome')
const bundleFile = join(cache, 'cli.mjs')
const inputsFile = join(cache, 'cli.inputs.json')

/** True when the bundle was built after the last change to every file it holds. */
async function fresh () {
  try {
    const { builtAt, inputs } = JSON.parse(await readFile(inputsFile, 'utf8'))
    await stat(bundleFile)
    const times = await Promise.all(inputs.map(async (file) => (await stat(file)).mtimeMs))
    return times.every((mtime) => mtime < builtAt)
  } catch {
    return false
  }
}

async function rebuild () {
  // Before the build: a file changed while it runs is then seen as newer.
  const builtAt = Date.now()
  const result = await build({
    entryPoints: [join(root, 'src', 'main.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@metadome/source'],
    plugins: [{
      name: 'dependencies-stay-external',
      setup (b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => args.path.startsWith('@metadome/') ? undefined : { external: true })
      }
    }],
    metafile: true,
    write: false,
    logLevel: 'error'
  })
  const code = result.outputFiles[0]?.contents
  if (code === undefined) throw new Error('esbuild produced no bundle')
  await mkdir(cache, { recursive: true })
  // Written aside and renamed: several commands may start at once.
  const tmp = `.${process.pid}.${Math.random().toString(36).slice(2)}`
  await writeFile(bundleFile + tmp, code)
  await rename(bundleFile + tmp, bundleFile)
  const inputs = Object.keys(result.metafile.inputs).map((file) => join(root, file))
  await writeFile(inputsFile + tmp, JSON.stringify({ builtAt, inputs }))
  await rename(inputsFile + tmp, inputsFile)
}

if (!await fresh()) await rebuild()
await import(pathToFileURL(bundleFile).href)
