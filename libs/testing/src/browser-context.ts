import { createContext, runInContext, type Context } from 'node:vm'
import { webcrypto } from 'node:crypto'

export interface BrowserContext {
  /** The context's global object: what the bundle sees as `window`. */
  window: Record<string, unknown>
  /** Runs a script (a browser bundle) in the context. */
  run: (code: string) => unknown
  context: Context
}

/**
 * A V8 context with a page's web globals and nothing of Node's (no process,
 * require or Buffer), for checking that a browser bundle runs without Node.
 * It is not a browser: layout, DOM and storage are absent. `extra` adds APIs a
 * bundle needs (WebSocket, fetch, ...).
 */
export function browserContext (extra: Record<string, unknown> = {}): BrowserContext {
  // Web APIs handed in from Node (TextEncoder, crypto) make typed arrays of
  // Node's realm, and libsodium tells bytes from strings with instanceof, so
  // the context gets this realm's typed-array constructors too, as a page has
  // one realm for both.
  const typedArrays = Object.fromEntries([
    ArrayBuffer, DataView, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array
  ].map((c) => [c.name, c]))
  const window: Record<string, unknown> = {
    ...typedArrays,
    crypto: webcrypto,
    TextEncoder,
    TextDecoder,
    WebAssembly: (globalThis as Record<string, unknown>).WebAssembly,
    URL,
    URLSearchParams,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    atob,
    btoa,
    ...extra
  }
  window.window = window
  window.self = window
  window.globalThis = window
  const context = createContext(window)
  return { window, context, run: (code) => runInContext(code, context) }
}
