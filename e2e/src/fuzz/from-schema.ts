import fc from 'fast-check'
import { entries, key, leaf, PROTO_KEYS, tree, type Tree } from './json-text.js'

// Values near a JSON Schema (what the OpenAPI document and TypeBox give):
// mostly valid, each field now and then of the wrong type, past a bound or
// missing, with an unknown or JavaScript-special key added. Requests that
// are all wrong stop at the validator; near-valid ones reach the handlers,
// where the 500s live.
//

export interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  const?: unknown
  enum?: unknown[]
  pattern?: string
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
}

/** Values worth trying, by field name or format: the ids of real users, a password that is right. */
export interface Hints {
  byName?: Record<string, readonly Tree[]>
  byFormat?: Record<string, readonly Tree[]>
}

const typeOf = (s: Schema): string | undefined => Array.isArray(s.type) ? s.type[0] : s.type

function withHints (arb: fc.Arbitrary<Tree>, hints: Hints, s: Schema, name: string | undefined): fc.Arbitrary<Tree> {
  const known = [...(name === undefined ? [] : hints.byName?.[name] ?? []), ...(s.format === undefined ? [] : hints.byFormat?.[s.format] ?? [])]
  return known.length === 0 ? arb : fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: arb })
}

/** A value that satisfies `s` (as far as these generators know JSON Schema). */
export function valid (s: Schema, hints: Hints = {}, name?: string): fc.Arbitrary<Tree> {
  if (s.const !== undefined) return fc.constant(s.const as Tree)
  if (s.enum !== undefined) return fc.constantFrom(...(s.enum as Tree[]))
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives !== undefined) return fc.oneof(...alternatives.map((a) => valid(a, hints, name)))
  switch (typeOf(s)) {
    case 'string': {
      let arb: fc.Arbitrary<Tree>
      if (s.format === 'uuid') arb = fc.uuid()
      else if (s.format === 'email') arb = fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 254))
      else if (s.format === 'date-time') arb = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString())
      else if (s.pattern !== undefined) arb = fc.stringMatching(new RegExp(s.pattern))
      else arb = fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, Math.max(s.minLength ?? 0, 80)) })
      return withHints(arb, hints, s, name)
    }
    case 'integer':
      return withHints(fc.integer({ min: s.minimum ?? -(2 ** 31), max: s.maximum ?? 2 ** 31 }), hints, s, name)
    case 'number':
      return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(s.items === undefined ? leaf : valid(s.items, hints), { minLength: s.minItems ?? 0, maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 4, 4)) })
    case 'object':
      return object(s, hints, 0)
    default:
      return tree()
  }
}

/** A value that breaks `s`: another type, one past a bound, a near miss of a pattern or format. */
export function wrong (s: Schema): fc.Arbitrary<Tree> {
  const misses: Array<fc.Arbitrary<Tree>> = [leaf, fc.array(leaf, { maxLength: 3 }), tree()]
  switch (typeOf(s)) {
    case 'string':
      if (s.maxLength !== undefined) misses.push(fc.constant(s.maxLength < 2_000 ? 'x'.repeat(s.maxLength + 1) : { $repeat: { unit: 'x', count: s.maxLength + 1 } }))
      if (s.minLength !== undefined && s.minLength > 0) misses.push(fc.constant('x'.repeat(s.minLength - 1)))
      if (s.pattern !== undefined || s.format !== undefined) {
        const good = valid({ ...s, maxLength: undefined }) as fc.Arbitrary<string>
        misses.push(good.chain((v) => fc.constantFrom(`${v} `, ` ${v}`, `${v}\u0000`, v.toUpperCase(), `${v}é`, v.slice(1), `${v}${v}`)))
      }
      break
    case 'integer':
    case 'number':
      if (s.minimum !== undefined) misses.push(fc.constant(s.minimum - 1))
      if (s.maximum !== undefined) misses.push(fc.constant(s.maximum + 1))
      misses.push(fc.constantFrom<Tree>(1.5, '1', { $raw: '1e400' }, { $raw: '9007199254740993' }, -0, 2 ** 63))
      break
    case 'array':
      if (s.maxItems !== undefined && s.maxItems <= 64) misses.push(fc.array(s.items === undefined ? leaf : valid(s.items), { minLength: s.maxItems + 1, maxLength: s.maxItems + 1 }))
      if (s.items !== undefined) misses.push(fc.array(wrong(s.items), { minLength: 1, maxLength: 3 }))
      break
  }
  return fc.oneof(...misses)
}

/** Mostly valid, now and then wrong. */
export function near (s: Schema, hints: Hints = {}, name?: string, depth = 0): fc.Arbitrary<Tree> {
  if (typeOf(s) === 'object' && s.properties !== undefined) {
    return fc.oneof({ weight: 6, arbitrary: object(s, hints, depth) }, { weight: 1, arbitrary: wrong(s) })
  }
  return fc.oneof({ weight: 4, arbitrary: valid(s, hints, name) }, { weight: 1, arbitrary: wrong(s) })
}

/** An object of `s`'s fields, each near-valid, required ones usually there, sometimes an extra key. */
function object (s: Schema, hints: Hints, depth: number): fc.Arbitrary<Tree> {
  const props = Object.entries(s.properties ?? {})
  const required = new Set(s.required ?? [])
  const fields = props.map(([name, schema]) => {
    const value = depth > 3 ? valid(schema, hints, name) : near(schema, hints, name, depth + 1)
    const present = value.map((v): [string, Tree] => [name, v])
    return fc.oneof(
      { weight: required.has(name) ? 12 : 3, arbitrary: present },
      { weight: 1, arbitrary: fc.constant(null) }
    )
  })
  const extra = fc.array(fc.tuple(key([...PROTO_KEYS, ...props.map(([n]) => n)]), tree()), { maxLength: 2 })
  return fc.tuple(fc.tuple(...fields), fc.oneof({ weight: 5, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: extra }))
    .map(([pairs, extras]) => entries([...pairs.filter((p): p is [string, Tree] => p !== null), ...extras]))
}
