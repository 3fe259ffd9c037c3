import fc from 'fast-check'

// JSON as text, not as values: a fuzzer needs what JSON.stringify cannot
// write (an own "__proto__" key, a key twice, `NaN`, `01`, `1e999`) and what
// it would expand (a 1 MB string, 20,000 levels of nesting) kept small until
// it is sent, so that a counterexample prints in a line. A Tree is written
// by `write`; `{ $entries }` is an object (its keys in order, repeats kept),
// `{ $raw }` goes out verbatim, `{ $repeat }` is a string of `count` units,
// `{ $deep }` is nesting written without recursion (writeDeep).
//

export type Tree = null | boolean | number | string | Tree[] | Entries | Raw | Repeat | Nested
export interface Entries { $entries: Array<[string, Tree]> }
export interface Raw { $raw: string }
export interface Repeat { $repeat: { unit: string, count: number } }
export interface Nested { $deep: Deep }

const isObject = (t: Tree): t is Entries | Raw | Repeat | Nested => typeof t === 'object' && t !== null && !Array.isArray(t)

export function write (tree: Tree): string {
  if (Array.isArray(tree)) return `[${tree.map(write).join(',')}]`
  if (isObject(tree)) {
    if ('$raw' in tree) return tree.$raw
    if ('$repeat' in tree) return JSON.stringify(tree.$repeat.unit.repeat(tree.$repeat.count))
    if ('$deep' in tree) return writeDeep(tree.$deep)
    return `{${tree.$entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(',')}}`
  }
  return JSON.stringify(tree) ?? 'null'
}

/** Nesting `depth` levels deep without recursion: `[[[…]]]`, `{"a":{"a":…}}`, or both in turn; `closed: false` leaves it unterminated. */
export interface Deep { depth: number, style: 'array' | 'object' | 'mixed', closed: boolean, inner: Tree }
export function writeDeep ({ depth, style, closed, inner }: Deep): string {
  const open: string[] = []
  const close: string[] = []
  for (let i = 0; i < depth; i++) {
    const array = style === 'array' || (style === 'mixed' && i % 2 === 0)
    open.push(array ? '[' : '{"a":')
    close.push(array ? ']' : '}')
  }
  return open.join('') + write(inner) + (closed ? close.reverse().join('') : '')
}

export const entries = (pairs: Array<[string, Tree]>): Entries => ({ $entries: pairs })

/** Keys that mean something to JavaScript objects rather than to the contract. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then', ''] as const

/** Number-looking text that JSON.parse refuses, or parses to something surprising. */
const ODD_NUMBERS = ['NaN', 'Infinity', '-Infinity', '01', '-0', '1.', '.5', '0x10', '1e999', '-1e999', '1e-999', '123456789012345678901234567890', '9007199254740993', '+1', '--1', '1_000']

const ODD_STRINGS = ['', ' ', '\u0000', '\u202e', '\ud800', '\udfff\ud800', 'null', 'undefined', 'true', '0', '-1', '1e309', 'NaN', '[]', '{}', '__proto__', 'constructor',
  '../../etc/passwd', '%00', '%2e%2e%2f', '<script>alert(1)</script>', "' OR 1=1 --", '${jndi:ldap://x}', '{{7*7}}', 'Bearer', 'a'.repeat(300), 'é'.repeat(80), '😀'.repeat(40),
  '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'urn:uuid:00000000-0000-4000-8000-000000000000', '{00000000-0000-4000-8000-000000000000}']

/** Leaves of every JSON type, biased towards the ones that break parsers and validators; no huge strings. */
export const smallLeaf: fc.Arbitrary<Tree> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 1.5, -0, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_NUMBERS).map((n): Raw => ({ $raw: n })) }
)

export const deep: fc.Arbitrary<Deep> = fc.record({
  depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 5_000 }), fc.integer({ min: 5_000, max: 40_000 })),
  style: fc.constantFrom('array', 'object', 'mixed'),
  closed: fc.boolean(),
  inner: smallLeaf
})

/** The same, with now and then a string of thousands of characters or nesting thousands deep (always closed: valid JSON). */
export const leaf: fc.Arbitrary<Tree> = fc.oneof(
  { weight: 40, arbitrary: smallLeaf },
  { weight: 1, arbitrary: deep.map((d): Nested => ({ $deep: { ...d, closed: true } })) },
  { weight: 2, arbitrary: fc.record({ unit: fc.constantFrom('a', 'é', '😀', '\\', '"', '\u0000'), count: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1_000, max: 20_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 150_000 }) }) }).map((r): Repeat => ({ $repeat: r })) }
)

/** A key of an object: the ones given (a contract's field names), JavaScript's own, or any. */
export function key (names: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    ...(names.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...names) }] : []),
    { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }
  )
}

/** Any JSON tree, shallow, with `names` among its keys, its leaves from `leaves`. */
export function tree (names: readonly string[] = [], leaves: fc.Arbitrary<Tree> = leaf): fc.Arbitrary<Tree> {
  const { t } = fc.letrec<{ t: Tree }>((tie) => ({
    t: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaves,
      fc.array(tie('t'), { maxLength: 5 }),
      fc.array(fc.tuple(key(names), tie('t')), { maxLength: 6 }).map(entries)
    )
  }))
  return t
}

/** Text that is not JSON, or JSON at its edges. */
export const notJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '{', '}', '[', '{"a":', '{"a":1', '{"a":1,}', '{a:1}', "{'a':1}", '{"a" 1}', 'nul', 'tru', '"', '"\\u12"', '"\\x41"',
    '\ufeff{}', '{}\u0000', '{} {}', '{}garbage', '/*c*/{}', '{"a":1}//c', '\u00a0{}', 'null', 'true', '0', '"str"', '[]', '[1,2,]'),
  fc.string({ maxLength: 60 }),
  fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1)))
)

/** Bytes that are not UTF-8: overlong forms, lone continuation bytes, surrogates, truncated sequences, NUL. */
export const badUtf8: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xfe, 0xff]),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 })
).chain((bad) => fc.constantFrom(
  bad,
  [...Buffer.from('{"type":"'), ...bad, ...Buffer.from('"}')],
  [...Buffer.from('{"username":"'), ...bad, ...Buffer.from('","password":"correct horse battery staple"}')]
))

