import { readFileSync } from 'node:fs'

// data/common-passwords.txt: the 10,000 most common passwords, lower case (see
// data/README.md for where it comes from). Compared without regard to case:
// "Password1" is as guessable as "password1".
const FILE = new URL('../../data/common-passwords.txt', import.meta.url)

let list: Set<string> | undefined

export function commonPasswords (): Set<string> {
  list ??= new Set(readFileSync(FILE, 'utf8').split('\n').filter((line) => line !== ''))
  return list
}

export function isCommonPassword (password: string): boolean {
  return commonPasswords().has(password.toLowerCase())
}
