#!/usr/bin/env node
// `metadome`: runs the terminal client from its TypeScript source with tsx,
// with workspace packages resolved to their src/ (the @metadome/source
// condition), as every app of this repository runs. A child process, because
// export conditions can only be set when Node starts; it shares the terminal
// (stdio, and Ctrl-C reaches it directly) and its exit code is ours.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = import.meta.resolve('tsx')
const child = spawn(process.execPath, ['--import', tsx, '--conditions=@metadome/source', '--no-warnings', main, ...process.argv.slice(2)], { stdio: 'inherit' })
// Ctrl-C reaches the child from the terminal itself (one process group);
// a signal sent to the launcher alone is passed on.
process.on('SIGINT', () => {})
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === null ? 1 : 128)
})
