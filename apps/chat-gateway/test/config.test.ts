import t from 'tap'
import { loadConfig, ConfigError } from '@metadome/config'
import { GatewayConfig, checkAuthUrl } from '../src/config.js'

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

t.test('the JWKS is fetched over https, or over http on loopback, or with AUTH_URL_ALLOW_HTTP=true', async (t) => {
  const check = (vars: Record<string, string>): void => { checkAuthUrl(loadConfig(GatewayConfig, vars)) }
  for (const url of ['https://auth.example.com', 'http://127.0.0.1:3000', 'http://127.8.9.1', 'http://localhost:3000/prefix', 'http://[::1]:3000']) {
    t.doesNotThrow(() => { check({ AUTH_URL: url }) }, url)
  }
  for (const url of ['http://auth-api:3000', 'http://10.0.0.7', 'http://auth.example.com']) {
    t.throws(() => { check({ AUTH_URL: url }) }, /AUTH_URL .* is plain http outside loopback/, `${url} is refused`)
    t.doesNotThrow(() => { check({ AUTH_URL: url, AUTH_URL_ALLOW_HTTP: 'true' }) }, `${url} with AUTH_URL_ALLOW_HTTP=true`)
  }
  t.throws(() => loadConfig(GatewayConfig, { AUTH_URL_ALLOW_HTTP: 'yes' }), /AUTH_URL_ALLOW_HTTP is invalid/)
})
