import t from 'tap'
import Type from 'typebox'
import { loadConfig, ConfigError, env } from '@metadome/config'

const Schema = Type.Object({
  ...env.common,
  PORT: env.port(3000),
  DATABASE_URL: env.DatabaseUrl
})
const DB = 'postgres://u:secret@127.0.0.1:5432/app'

t.test('defaults fill what is unset and numbers are coerced', async (t) => {
  const config = loadConfig(Schema, { DATABASE_URL: DB, PORT: '3005' })
  t.equal(config.PORT, 3005)
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.NATS_URL, 'nats://127.0.0.1:4222')
  t.equal(config.NATS_NAMESPACE, 'metadome')
  t.equal(config.LOG_LEVEL, 'info')
})

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig(Schema, { DATABASE_URL: DB, PORT: '' }).PORT, 3000)
})

t.test('every empty variable counts as unset: defaults apply as if it were not there', async (t) => {
  const empty = Object.fromEntries(Object.keys(Schema.properties).map((key) => [key, '']))
  t.same(loadConfig(Schema, { ...empty, DATABASE_URL: DB }), loadConfig(Schema, { DATABASE_URL: DB }))
})

t.test('an empty DATABASE_URL is reported as missing, as an unset one (an app started alone refuses it)', async (t) => {
  const err = t.throws(() => loadConfig(Schema, { DATABASE_URL: '' })) as Error
  t.type(err, ConfigError)
  t.equal(err.message, 'DATABASE_URL is required: set it to a postgres:// connection URL')
})

t.test('a refused value is quoted as it was written, not as it was converted', async (t) => {
  const err = t.throws(() => loadConfig(Schema, { DATABASE_URL: DB, PORT: '70000' })) as Error
  t.match(err.message, /^PORT is invalid \(got "70000"\): expected a port number from 0 to 65535$/)
})

t.test('several NATS servers, comma-separated, are accepted', async (t) => {
  const url = 'nats://a:4222,nats://b:4222,tls://c.example.com:4443'
  t.equal(loadConfig(Schema, { DATABASE_URL: DB, NATS_URL: url }).NATS_URL, url)
})

const rejected: Array<[string, Record<string, string>, RegExp]> = [
  ['a bad PORT', { DATABASE_URL: DB, PORT: 'abc' }, /^PORT is invalid \(got "abc"\): expected a port number/],
  ['a PORT out of range', { DATABASE_URL: DB, PORT: '70000' }, /^PORT is invalid/],
  ['a bad NATS_URL', { DATABASE_URL: DB, NATS_URL: 'http://localhost:4222' }, /^NATS_URL is invalid \(got "http:\/\/localhost:4222"\)/],
  ['a missing DATABASE_URL', {}, /^DATABASE_URL is required: set it to a postgres:\/\/ connection URL$/],
  ['a bad namespace', { DATABASE_URL: DB, NATS_NAMESPACE: 'a.b' }, /^NATS_NAMESPACE is invalid/],
  ['an unknown LOG_LEVEL', { DATABASE_URL: DB, LOG_LEVEL: 'loud' }, /^LOG_LEVEL is invalid \(got "loud"\): expected one of fatal/]
]
for (const [what, vars, message] of rejected) {
  t.test(`${what} is refused with one line naming the variable`, async (t) => {
    const err = t.throws(() => loadConfig(Schema, vars)) as Error
    t.type(err, ConfigError)
    t.match(err.message, message)
    t.notMatch(err.message, /\n/)
  })
}

t.test('a bad DATABASE_URL is named without echoing its value (it may hold a password)', async (t) => {
  const err = t.throws(() => loadConfig(Schema, { DATABASE_URL: 'mysql://u:secret@h/db' })) as Error
  t.match(err.message, /^DATABASE_URL is invalid: expected a postgres/)
  t.notMatch(err.message, /secret/)
})
