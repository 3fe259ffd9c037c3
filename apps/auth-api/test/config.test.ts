import t from 'tap'
import { loadConfig } from '@metadome/config'
import { AuthConfig } from '../src/config.js'

const base = { DATABASE_URL: 'postgres://localhost/x' }

t.test('ACCESS_TOKEN_TTL_SECONDS is 10 to 3600: no token outlives what a starting gateway remembers of ended sessions', async (t) => {
  t.equal(loadConfig(AuthConfig, base).ACCESS_TOKEN_TTL_SECONDS, 900, '15 minutes by default')
  t.equal(loadConfig(AuthConfig, { ...base, ACCESS_TOKEN_TTL_SECONDS: '3600' }).ACCESS_TOKEN_TTL_SECONDS, 3600, 'an hour at most')
  for (const value of ['3601', '86400', '9', 'soon']) {
    t.throws(() => loadConfig(AuthConfig, { ...base, ACCESS_TOKEN_TTL_SECONDS: value }), /ACCESS_TOKEN_TTL_SECONDS/, value)
  }
})
