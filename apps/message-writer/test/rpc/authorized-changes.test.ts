import t from 'tap'
import { AuthorizedChanges } from '../../src/rpc/authorized-changes.js'

t.test('authorized changes are kept per actor and kind, once per event id, for keepMs', async (t) => {
  let now = 0
  const changes = new AuthorizedChanges(1_000, () => now)
  changes.add('alice', 'created', 'e1')
  changes.add('alice', 'created', 'e1')
  changes.add('alice', 'member_added', 'e2')
  changes.add('bob', 'created', 'e3')
  t.same(changes.of('alice', 'created'), ['e1'], 'an event authorized twice (a retried change) counts once')
  t.same(changes.of('alice', 'member_added'), ['e2'])
  t.same(changes.of('bob', 'created'), ['e3'])
  t.same(changes.of('carol', 'created'), [])
  now = 600
  changes.add('alice', 'created', 'e4')
  now = 1_200
  t.same(changes.of('alice', 'created'), ['e4'], 'older than keepMs: gone')
  t.same(changes.of('bob', 'created'), [])
})
