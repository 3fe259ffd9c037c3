import t from 'tap'
import { loadConfig, ConfigError } from '@metadome/config'
import { GatewayConfig } from '../src/config.js'

t.test('defaults: 1 MiB send buffer, pings every 25 s, 5 s to authenticate, the contract claims', async (t) => {
  const config = loadConfig(GatewayConfig, {})
  t.equal(config.PORT, 3001)
  t.equal(config.WS_MAX_BUFFERED_BYTES, 1024 * 1024)
  t.equal(config.WS_PING_INTERVAL_MS, 25_000)
  t.equal(config.WS_AUTH_TIMEOUT_MS, 5_000)
  t.equal(config.JWT_ISSUER, 'metadome-auth')
  t.equal(config.JWT_AUDIENCE, 'metadome')
})

t.test('a wrong value is refused with one line naming the variable', async (t) => {
  for (const [name, value] of [['WS_MAX_BUFFERED_BYTES', 'lots'], ['WS_RATE_PER_SECOND', '0'], ['AUTH_URL', 'auth-api']] as const) {
    t.throws(() => loadConfig(GatewayConfig, { [name]: value }), ConfigError, name)
    t.throws(() => loadConfig(GatewayConfig, { [name]: value }), { message: new RegExp(`^${name} is invalid`) }, `${name}: named`)
  }
})
