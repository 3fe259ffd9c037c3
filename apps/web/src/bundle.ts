import { build } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

// The page's script and style sheet, bundled by esbuild when the server
// starts (about a second), kept in memory. There is no build step to forget:
// `npm start` on a fresh clone serves what is in src/ui.

export interface Bundle {
  js: string
  css: string
  /** Short content hashes, for cache-busting URLs (/app.<hash>.js). */
  jsHash: string
  cssHash: string
}

// From src/ (tsx) or dist/ (compiled): both sit one level under the package.
const UI = fileURLToPath(new URL('../src/ui/', import.meta.url))

export async function bundleUi (): Promise<Bundle> {
  const result = await build({
    entryPoints: [`${UI}main.tsx`],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // The workspace packages' TypeScript sources, as everywhere else in the repository.
    conditions: ['@metadome/source'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // The SDK loads `ws` only where there is no global WebSocket; never in a page.
    external: ['ws'],
    minify: true,
    sourcemap: false,
    write: false,
    logLevel: 'silent'
  })
  const js = result.outputFiles[0]?.text
  if (js === undefined) throw new Error('esbuild produced no bundle')
  const css = await readFile(`${UI}styles.css`, 'utf8')
  return { js, css, jsHash: await shortHash(js), cssHash: await shortHash(css) }
}

async function shortHash (text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Buffer.from(digest).toString('hex').slice(0, 12)
}
