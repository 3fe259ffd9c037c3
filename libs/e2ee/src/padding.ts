// Bodies are padded before sealing so that the ciphertext length says little
// about the message: every body of up to MIN_PADDED_BYTES - 1 bytes seals to
// the same size, and longer ones are rounded up by Padmé (Nikitin et al.,
// "Reducing Metadata Leakage from Encrypted Files and Communication with
// PURBs", PETS 2019), which leaks O(log log n) bits of the length for at most
// 12 % overhead. The padding itself is ISO/IEC 7816-4: one 0x80 byte, then
// zeros; it is only ever removed from authenticated plaintext.

export const MIN_PADDED_BYTES = 256

/** Padmé's length for n bytes (n >= 1). */
export function padme (n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('padme: n must be a positive integer')
  if (n < 2) return n
  const e = Math.floor(Math.log2(n))
  const s = Math.floor(Math.log2(e)) + 1
  const lastBits = e - s
  const mask = 2 ** lastBits - 1
  return Math.ceil(n / (mask + 1)) * (mask + 1)
}

/** The padded length of a body of `length` bytes (marker byte included). */
export function paddedLength (length: number): number {
  return Math.max(MIN_PADDED_BYTES, padme(length + 1))
}

export function pad (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedLength(body.length))
  out.set(body, 0)
  out[body.length] = 0x80
  return out
}

/** The body inside `padded`, or undefined when the padding is malformed. */
export function unpad (padded: Uint8Array): Uint8Array | undefined {
  let i = padded.length - 1
  while (i >= 0 && padded[i] === 0) i--
  if (i < 0 || padded[i] !== 0x80) return undefined
  return padded.subarray(0, i)
}
