import t from 'tap'
import { browserContext } from '@metadome/testing'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

// "It runs unchanged in Node and in browsers": the library and the golden
// vectors are bundled for the browser platform (so any Node built-in in the
// module graph fails the build), then run in a fresh context that has only
// web globals (window, crypto.getRandomValues, TextEncoder, WebAssembly) and
// no process, require or Buffer. (Without crypto, libsodium 0.8.4's ESM build
// refuses to start: randomness comes from crypto.getRandomValues, as in a page.)

t.test('the library bundles for browsers and passes the golden vectors with web globals only', async (t) => {
  const result = await build({
    stdin: {
      contents: "import { runGoldenVectors } from './golden-vectors.ts'\nglobalThis.__result = runGoldenVectors()",
      resolveDir: fileURLToPath(new URL('./browser/', import.meta.url)),
      loader: 'ts'
    },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    conditions: ['@metadome/source'],
    write: false,
    logLevel: 'silent'
  })
  t.same(result.errors, [])
  const code = result.outputFiles[0]!.text
  t.notMatch(code, /from\s+["']node:/, 'no node: imports')

  const { window, run } = browserContext()
  t.equal(run('typeof process + typeof require + typeof Buffer'), 'undefinedundefinedundefined')
  run(code)
  const { passed, failures } = await (window.__result as Promise<{ passed: number, failures: string[] }>)
  t.same(failures, [])
  t.ok(passed >= 10, `${passed} checks passed in the browser-like context`)
})
