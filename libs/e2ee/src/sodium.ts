import sodium from 'libsodium-wrappers'

// Every crypto call goes through libsodium's default export (named imports of
// its functions are undefined until `ready` resolves), and every base64
// conversion names its variant: base64url without padding, on both ends.

export type Sodium = typeof sodium

export const B64 = sodium.base64_variants.URLSAFE_NO_PADDING

/** libsodium, once its WebAssembly has loaded. */
export async function getSodium (): Promise<Sodium> {
  await sodium.ready
  return sodium
}

export function toB64 (s: Sodium, bytes: Uint8Array): string {
  return s.to_base64(bytes, s.base64_variants.URLSAFE_NO_PADDING)
}

/**
 * Decodes base64url without padding, and only its canonical spelling: a
 * string that decodes to bytes which encode back to a different string (stray
 * low bits in the last character, other alphabets, padding) is refused, so one
 * key or signature has exactly one textual form. Returns undefined on any
 * failure, or when `length` is given and does not match.
 */
export function fromB64 (s: Sodium, text: unknown, length?: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) return undefined
  let bytes: Uint8Array
  try {
    bytes = s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING)
  } catch {
    return undefined
  }
  if (length !== undefined && bytes.length !== length) return undefined
  if (toB64(s, bytes) !== text) return undefined
  return bytes
}

export function utf8 (s: Sodium, text: string): Uint8Array {
  return s.from_string(text)
}

export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}
