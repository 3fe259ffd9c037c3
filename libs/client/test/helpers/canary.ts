import { randomBytes } from 'node:crypto'

// A canary is a fresh random marker put into plaintext. The proof looks for it
// in everything the servers saw, spelled every way a careless server might
// have stored or logged it: as text, hex (either case), and base64 or
// base64url at each of the three byte alignments it could sit at inside a
// longer encoded value (with and without padding, the middle part is the same).

export function newCanary (label: string): string {
  return `${label}-${randomBytes(16).toString('hex')}`
}

/** Every spelling of `canary` that the scanner looks for. */
export function spellings (canary: string): string[] {
  const bytes = Buffer.from(canary, 'utf8')
  const out = new Set<string>([canary, bytes.toString('hex'), bytes.toString('hex').toUpperCase()])
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64')
    // Characters that depend only on the canary's bits: from the first one
    // that starts after the prefix to the last one that ends inside the canary.
    const start = Math.ceil((8 * shift) / 6)
    const end = Math.floor((8 * (shift + bytes.length)) / 6)
    const core = encoded.slice(start, end)
    out.add(core)
    out.add(core.replaceAll('+', '-').replaceAll('/', '_'))
  }
  return [...out]
}

export interface Finding {
  source: string
  spelling: string
}

/** Where (which source) and how (which spelling) a canary appears in a corpus of named texts. */
export function scan (canary: string, corpus: Iterable<{ source: string, text: string }>): Finding[] {
  const forms = spellings(canary)
  const found: Finding[] = []
  for (const { source, text } of corpus) {
    for (const spelling of forms) {
      if (text.includes(spelling)) found.push({ source, spelling })
    }
  }
  return found
}
