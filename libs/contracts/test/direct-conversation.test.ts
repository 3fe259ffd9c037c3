import t from 'tap'
import fc from 'fast-check'
import { directConversationId, directMembers, directPairOf } from '../src/chat.js'

t.test('a direct conversation\'s id and pair: the same from either side, lower case, sorted, and parsed back', async (t) => {
  fc.assert(fc.property(fc.uuid(), fc.uuid(), fc.boolean(), (a, b, upper) => {
    const x = upper ? a.toUpperCase() : a
    const pair = directPairOf(x, b)
    const id = directConversationId(x, b)
    return id === directConversationId(b, x) &&
      id === `dm_${pair[0]}_${pair[1]}` &&
      pair[0] <= pair[1] &&
      pair.includes(a.toLowerCase()) && pair.includes(b.toLowerCase()) &&
      JSON.stringify(directMembers(id)) === JSON.stringify(pair)
  }))
  t.same(directPairOf('b', 'A'), ['a', 'b'])
  t.same(directPairOf('a', 'a'), ['a', 'a'])
})
