// The one serialisation that signatures and associated data are computed over.
// Object keys are sorted by UTF-16 code unit (JavaScript's default string
// order) at every depth, arrays keep their order, nothing but the JSON itself
// is written, strings are escaped as JSON.stringify escapes them, and the only
// numbers are safe integers, so every implementation prints them the same way.
// Properties whose value is undefined are left out, as JSON.stringify leaves
// them out: the signed text is what the receiver sees after a JSON round trip.

export class CanonicalJsonError extends Error {
  readonly code = 'not_canonical_json'
  constructor (message: string) {
    super(message)
    this.name = 'CanonicalJsonError'
  }
}

export function canonicalJson (value: unknown): string {
  return write(value, '$', new Set())
}

function write (value: unknown, path: string, open: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(`${path}: ${String(value)} is not a safe integer`)
      return Object.is(value, -0) ? '0' : String(value)
    case 'object':
      break
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof value} is not JSON`)
  }
  const obj = value as object
  if (open.has(obj)) throw new CanonicalJsonError(`${path}: cycle`)
  open.add(obj)
  try {
    if (Array.isArray(obj)) {
      return '[' + obj.map((v: unknown, i) => write(v, `${path}[${i}]`, open)).join(',') + ']'
    }
    const proto = Object.getPrototypeOf(obj) as unknown
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalJsonError(`${path}: only plain objects and arrays are JSON`)
    }
    const rec = obj as Record<string, unknown>
    const parts: string[] = []
    for (const key of Object.keys(rec).sort()) {
      const v = rec[key]
      if (v === undefined) continue
      parts.push(JSON.stringify(key) + ':' + write(v, `${path}.${key}`, open))
    }
    return '{' + parts.join(',') + '}'
  } finally {
    open.delete(obj)
  }
}
