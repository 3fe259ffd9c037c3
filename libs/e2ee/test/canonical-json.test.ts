import t from 'tap'
import { canonicalJson, CanonicalJsonError } from '@metadome/e2ee'

t.test('object keys are sorted at every depth, arrays keep their order, no whitespace', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [3, 1, { d: true, c: null }], A: 'x' }), '{"A":"x","a":[3,1,{"c":null,"d":true}],"b":1}')
  t.equal(canonicalJson([]), '[]')
  t.equal(canonicalJson({}), '{}')
  t.equal(canonicalJson('é\n"\\\u2028'), JSON.stringify('é\n"\\\u2028'))
})

t.test('keys sort by UTF-16 code unit, not by code point or locale', async (t) => {
  // U+FF5E (one unit 0xFF5E) sorts after U+1F600 (surrogates 0xD83D 0xDE00) by
  // code unit, although its code point is smaller; 'Z' sorts before 'a'.
  t.equal(canonicalJson({ '\uff5e': 1, '\u{1f600}': 2, a: 3, Z: 4 }), '{"Z":4,"a":3,"\u{1f600}":2,"\uff5e":1}')
})

t.test('properties that are undefined are left out, as JSON.stringify does', async (t) => {
  t.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}')
})

t.test('numbers must be safe integers', async (t) => {
  t.equal(canonicalJson({ n: -0, m: Number.MAX_SAFE_INTEGER }), `{"m":${Number.MAX_SAFE_INTEGER},"n":0}`)
  for (const bad of [1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, 1e21]) {
    t.throws(() => canonicalJson({ n: bad }), CanonicalJsonError, String(bad))
  }
})

t.test('values that are not JSON are refused', async (t) => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  for (const bad of [undefined, [undefined], () => 1, 1n, Symbol('x'), new Date(0), new Uint8Array(1), new Map(), cyclic]) {
    t.throws(() => canonicalJson(bad), CanonicalJsonError)
  }
  // The same object twice, not nested in itself, is not a cycle.
  const shared = { x: 1 }
  t.equal(canonicalJson([shared, shared]), '[{"x":1},{"x":1}]')
})
