import t from 'tap'
import { loadConfig } from '@metadome/config'
import { AuthConfig, relyingParty } from '../src/config.js'

const base = { DATABASE_URL: 'postgres://localhost/x' }

t.test('ACCESS_TOKEN_TTL_SECONDS is 10 to 3600: no token outlives what a starting gateway remembers of ended sessions', async (t) => {
  t.equal(loadConfig(AuthConfig, base).ACCESS_TOKEN_TTL_SECONDS, 900, '15 minutes by default')
  t.equal(loadConfig(AuthConfig, { ...base, ACCESS_TOKEN_TTL_SECONDS: '3600' }).ACCESS_TOKEN_TTL_SECONDS, 3600, 'an hour at most')
  for (const value of ['3601', '86400', '9', 'soon']) {
    t.throws(() => loadConfig(AuthConfig, { ...base, ACCESS_TOKEN_TTL_SECONDS: value }), /ACCESS_TOKEN_TTL_SECONDS/, value)
  }
})

t.test('passkeys\' relying party follows PUBLIC_URL unless WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS say otherwise', async (t) => {
  const rp = (env: Record<string, string>) => relyingParty(loadConfig(AuthConfig, { ...base, ...env }))
  t.same(rp({ PUBLIC_URL: 'https://chat.example.com:8443/app/' }), { id: 'chat.example.com', name: 'metadome', origins: ['https://chat.example.com:8443'] }, 'defaults: PUBLIC_URL\'s host name and origin')
  t.same(rp({}), { id: 'localhost', name: 'metadome', origins: ['http://localhost:3003'] }, 'the default PUBLIC_URL')
  t.same(rp({ PUBLIC_URL: 'https://chat.example.com/', WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_RP_NAME: 'Example chat' }),
    { id: 'example.com', name: 'Example chat', origins: ['https://chat.example.com'] }, 'WEBAUTHN_RP_ID wins; the origin still follows PUBLIC_URL')
  t.same(rp({ PUBLIC_URL: 'https://chat.example.com/', WEBAUTHN_ORIGINS: 'https://app.example.com' }).origins, ['https://app.example.com'], 'WEBAUTHN_ORIGINS wins over PUBLIC_URL\'s origin')
  t.same(rp({ PUBLIC_URL: 'https://chat.example.com/', WEBAUTHN_ORIGINS: 'https://a.example.com,https://b.example.com:8443,http://localhost:3003' }).origins,
    ['https://a.example.com', 'https://b.example.com:8443', 'http://localhost:3003'], 'several origins, split on commas')
  for (const bad of [{ WEBAUTHN_ORIGINS: 'https://a.example.com, https://b.example.com' }, { WEBAUTHN_ORIGINS: 'https://a.example.com/path' }, { WEBAUTHN_RP_ID: 'https://example.com' }]) {
    t.throws(() => loadConfig(AuthConfig, { ...base, ...bad }), /WEBAUTHN_/, JSON.stringify(bad))
  }
})
