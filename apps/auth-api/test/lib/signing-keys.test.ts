import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLogger } from '@metadome/logger'
import { captureLogs } from '@metadome/testing'
import { generatedKeyPath, loadKeyRing } from '../../src/lib/signing-keys.js'
import { tempDir } from '../helper.js'

const quiet = () => {
  const logs = captureLogs()
  return { logs, log: createLogger({ name: 'test', level: 'warn', destination: logs.stream }) }
}

t.test('without JWT_PRIVATE_KEY_FILE a key is generated once under DATA_DIR, with a warning, and reused', async (t) => {
  const dataDir = await tempDir(t)
  const { logs, log } = quiet()
  const first = await loadKeyRing({ dataDir, log })
  const path = generatedKeyPath(dataDir)
  t.equal(path, join(dataDir, 'auth', 'jwt-ed25519.pem'))
  t.equal((await stat(path)).mode & 0o777, 0o600, 'readable by its owner only')
  t.match(logs.entries()[0], { level: 40, path, created: true, msg: /JWT_PRIVATE_KEY_FILE is not set/ })
  t.notMatch(logs.lines.join('\n'), /PRIVATE KEY/, 'the key itself is never logged')
  const second = await loadKeyRing({ dataDir, log })
  t.equal(second.current.kid, first.current.kid, 'the same key on the next start')
})

t.test('several processes starting at once agree on one generated key', async (t) => {
  const dataDir = await tempDir(t)
  const rings = await Promise.all(Array.from({ length: 5 }, async () => await loadKeyRing({ dataDir, log: quiet().log })))
  t.equal(new Set(rings.map((r) => r.current.kid)).size, 1)
})

t.test('JWT_PRIVATE_KEY_FILE must hold an Ed25519 private key; the error names the variable', async (t) => {
  const dir = await tempDir(t)
  const rsa = join(dir, 'rsa.pem')
  await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }))
  await t.rejects(loadKeyRing({ dataDir: dir, privateKeyFile: rsa, log: quiet().log }), /JWT_PRIVATE_KEY_FILE holds a rsa key/)
  await t.rejects(loadKeyRing({ dataDir: dir, privateKeyFile: join(dir, 'missing.pem'), log: quiet().log }), /JWT_PRIVATE_KEY_FILE: cannot read .*ENOENT/)
  const garbage = join(dir, 'garbage.pem')
  await writeFile(garbage, 'not a key')
  await t.rejects(loadKeyRing({ dataDir: dir, privateKeyFile: garbage, log: quiet().log }), /JWT_PRIVATE_KEY_FILE is not a PEM private key/)
})

t.test('the kid is the key\'s RFC 7638 thumbprint', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'key.pem')
  // RFC 8037 appendix A.3: this key's thumbprint is kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k.
  const { createPrivateKey } = await import('node:crypto')
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }, format: 'jwk' })
  await writeFile(file, key.export({ format: 'pem', type: 'pkcs8' }))
  const ring = await loadKeyRing({ dataDir: dir, privateKeyFile: file, log: quiet().log })
  t.equal(ring.current.kid, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
})
