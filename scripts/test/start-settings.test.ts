import t from 'tap'
import { ConfigError } from '@metadome/config'
import { startConfig, appLogFormat } from '../start/settings.js'

// What `npm start` reads before it starts anything (scripts/start/settings.ts).

t.test('npm start embeds PostgreSQL when DATABASE_URL is empty, as when it is unset', async (t) => {
  t.equal(startConfig({}).DATABASE_URL, undefined)
  t.equal(startConfig({ DATABASE_URL: '' }).DATABASE_URL, undefined)
  const url = 'postgres://u:p@db.example.com:5432/metadome'
  t.equal(startConfig({ DATABASE_URL: url }).DATABASE_URL, url)
})

t.test('every empty variable npm start reads counts as unset', async (t) => {
  const empty = startConfig({
    METADOME_DATA_DIR: '',
    METADOME_BASE_PORT: '',
    METADOME_PG_PORT: '',
    METADOME_GATEWAYS: '',
    HOST: '',
    NATS_URL: '',
    DATABASE_URL: '',
    LOG_FORMAT: '',
    UV_THREADPOOL_SIZE: ''
  })
  t.same(empty, startConfig({}))
  t.same(empty, {
    METADOME_BASE_PORT: 3000,
    METADOME_PG_PORT: 54329,
    METADOME_GATEWAYS: 1,
    HOST: '127.0.0.1',
    NATS_URL: 'nats://127.0.0.1:4222',
    LOG_FORMAT: 'auto'
  })
})

const refused: Array<[Record<string, string>, RegExp]> = [
  [{ METADOME_GATEWAYS: '0' }, /^METADOME_GATEWAYS is invalid \(got "0"\): expected a whole number of gateways/],
  [{ METADOME_BASE_PORT: 'x' }, /^METADOME_BASE_PORT is invalid \(got "x"\)/],
  [{ LOG_FORMAT: 'fancy' }, /^LOG_FORMAT is invalid \(got "fancy"\)/],
  [{ DATABASE_URL: 'mysql://u:secret@h/db' }, /^DATABASE_URL is invalid: expected a postgres:\/\/ connection URL$/]
]
for (const [vars, message] of refused) {
  t.test(`npm start refuses ${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')} with one line naming it`, async (t) => {
    const err = t.throws(() => startConfig(vars)) as Error
    t.type(err, ConfigError)
    t.match(err.message, message)
    t.notMatch(err.message, /secret|\n/)
  })
}

t.test('the apps log pretty lines when npm start runs on a terminal, JSON when its output is piped', async (t) => {
  // The apps' own output is always a pipe into npm start: `auto` is decided here.
  t.equal(appLogFormat('auto', true), 'pretty')
  t.equal(appLogFormat('auto', false), 'json')
  t.equal(appLogFormat(startConfig({ LOG_FORMAT: '' }).LOG_FORMAT, true), 'pretty', 'an empty LOG_FORMAT is auto')
  t.equal(appLogFormat('json', true), 'json', 'an explicit choice is kept')
  t.equal(appLogFormat('pretty', false), 'pretty', 'an explicit choice is kept')
})
