import t from 'tap'
import { TtlSet } from '../../src/chat/ttl-set.js'

t.test('a key is remembered until its time is up', async (t) => {
  let now = 0
  const set = new TtlSet(1_000, 10, () => now)
  set.add('a')
  t.ok(set.has('a'))
  now = 999
  t.ok(set.has('a'))
  now = 1_000
  t.notOk(set.has('a'))
})

t.test('past its size, the oldest key goes first', async (t) => {
  const set = new TtlSet(60_000, 2)
  set.add('a')
  set.add('b')
  set.add('c')
  t.notOk(set.has('a'))
  t.ok(set.has('b'))
  t.ok(set.has('c'))
  set.delete('b')
  t.notOk(set.has('b'))
})
