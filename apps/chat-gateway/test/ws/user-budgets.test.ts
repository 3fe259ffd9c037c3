import t from 'tap'
import { UserBudgets } from '../../src/ws/user-budgets.js'

t.test('a user\'s bucket is shared, kept while it refills, and forgotten once full', async (t) => {
  let now = 0
  const budgets = new UserBudgets(1_000, 1_000, () => now)
  t.teardown(() => { budgets.close() })
  t.ok(budgets.of('alice').take(900), 'one socket takes most of the budget')
  t.notOk(budgets.of('alice').take(900), 'another socket of the same user finds it spent')
  t.ok(budgets.of('bob').take(900), 'another user has their own')
  now = 500
  budgets.sweep()
  t.equal(budgets.size, 2, 'buckets still refilling are kept (alice, bob)')
  t.notOk(budgets.of('alice').take(900), 'alice\'s is still half spent')
  now = 1_500
  budgets.sweep()
  t.equal(budgets.size, 0, 'full ones are forgotten: idle users cost nothing')
})
