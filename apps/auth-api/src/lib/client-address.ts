import { isIPv6 } from 'node:net'

/**
 * The address a sign-in count is kept for (db/login-attempt.repository.ts):
 * an IPv4 address as it is, an IPv6 one by its /64. A /64 is what one
 * subscriber or one server is given, and any address inside it is theirs to
 * use, so a count per IPv6 address would hand an attacker 2^64 fresh ones.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a server listening on
 * :: sees of IPv4 clients) is its IPv4 address.
 */
export function clientAddressKey (ip: string | undefined): string {
  // No address at all (a Unix socket): one count for all such clients.
  if (ip === undefined || ip === '') return 'unknown'
  const bare = ip.split('%')[0] ?? ip // without a zone (fe80::1%eth0)
  if (!isIPv6(bare)) return bare
  const groups = ipv6Groups(bare)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6)
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address. */
function ipv6Groups (ip: string): number[] {
  // A trailing dotted quad (::ffff:192.0.2.1) is the last two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip)
  const hex = quad === null
    ? ip
    : `${ip.slice(0, quad.index)}${((Number(quad[1]) << 8) | Number(quad[2])).toString(16)}:${((Number(quad[3]) << 8) | Number(quad[4])).toString(16)}`
  const [head = '', tail] = hex.split('::')
  const parse = (part: string | undefined): number[] => part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16))
  const left = parse(head)
  const right = parse(tail)
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right]
}
