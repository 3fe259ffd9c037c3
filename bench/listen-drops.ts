import { readFile } from 'node:fs/promises'

/**
 * Connects the kernel dropped so far because a listener's accept queue was
 * full (TcpExt ListenDrops in /proc/net/netstat), machine-wide; undefined
 * without /proc. Each drop costs that client a SYN retransmit, 1 s later and
 * doubling: a storm's tail is made of them, so a storm reports how many.
 */
export async function listenDrops (): Promise<number | undefined> {
  let text: string
  try {
    text = await readFile('/proc/net/netstat', 'utf8')
  } catch {
    return undefined
  }
  // Pairs of lines: "TcpExt: Name1 Name2 ..." then "TcpExt: 1 2 ...".
  const lines = text.split('\n').filter((line) => line.startsWith('TcpExt:'))
  const names = lines[0]?.split(/\s+/) ?? []
  const values = lines[1]?.split(/\s+/) ?? []
  const at = names.indexOf('ListenDrops')
  return at < 0 ? undefined : Number(values[at])
}
