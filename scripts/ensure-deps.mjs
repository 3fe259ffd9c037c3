#!/usr/bin/env node
// Runs before `npm start`, `npm test` and `npm run bench`, so both quick-start
// commands work on a fresh clone: installs dependencies when node_modules is
// missing or does not match package-lock.json. Plain JavaScript on purpose:
// it runs before TypeScript tooling exists.
import { existsSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const lockPath = join(root, 'package-lock.json')
// npm writes this after every install: what node_modules actually holds.
const installedPath = join(root, 'node_modules', '.package-lock.json')

function staleReason () {
  if (!existsSync(installedPath)) return 'node_modules is missing'
  const wanted = JSON.parse(readFileSync(lockPath, 'utf8')).packages ?? {}
  const installed = JSON.parse(readFileSync(installedPath, 'utf8')).packages ?? {}
  for (const [path, entry] of Object.entries(wanted)) {
    // Optional packages for other platforms are legitimately absent.
    if (path === '' || entry.optional === true) continue
    const have = installed[path]
    if (have === undefined) return `${path} is not installed`
    if (entry.version !== undefined && have.version !== entry.version) return `${path} is ${have.version}, the lock file wants ${entry.version}`
  }
  return undefined
}

const reason = staleReason()
if (reason !== undefined) {
  console.log(`Installing dependencies (${reason}) ...`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error('npm ci failed; see the output above.')
    process.exit(result.status ?? 1)
  }
}
