import t from 'tap'
import type { Conversation, User } from '@metadome/contracts'
import { ambiguous, candidates } from '../src/chat-target.js'

// How `metadome chat <name>` reads <name> when it is not an id or @user.

const ME = '00000000-0000-4000-8000-000000000001'
const bob: User = { id: '00000000-0000-4000-8000-000000000002', username: 'bob', displayName: 'bob', createdAt: '2026-12-01T10:00:00.000Z', updatedAt: '2026-12-01T10:00:00.000Z' }
const group = (id: string, title: string, members = [ME, bob.id]): Conversation =>
  ({ id, kind: 'group', title, members, createdAt: '2026-12-01T10:00:00.000Z', lastSeq: 0 })
const G1 = '6f1c0c2e-0000-4000-8000-00000000000a'
const G2 = '6f1c0c2e-0000-4000-8000-00000000000b'
const direct: Conversation = { id: `dm_${ME}_${bob.id}`, kind: 'direct', members: [ME, bob.id], createdAt: '2026-12-01T10:00:00.000Z', lastSeq: 3 }

t.test('a title matches whole, in any case, surrounding spaces aside; a part of it does not', async (t) => {
  const list = [group(G1, 'Book Club'), direct]
  t.same(candidates('book club', undefined, list).map((c) => c.kind === 'group' && c.conversation.id), [G1])
  t.same(candidates('  BOOK CLUB ', undefined, list).length, 1)
  t.same(candidates('book', undefined, list), [])
})

t.test('a username that is no group title is the user', async (t) => {
  t.same(candidates('bob', bob, [group(G1, 'Book Club'), direct]), [{ kind: 'user', user: bob }])
})

t.test('two groups with one title: both are listed with their ids', async (t) => {
  const found = candidates('twins', undefined, [group(G1, 'twins'), group(G2, 'Twins', [ME])])
  t.equal(found.length, 2)
  t.equal(ambiguous('twins', found),
    `"twins" could be the group "twins" (${G1}, 2 members), the group "Twins" (${G2}, 1 member): name the group by its id`)
})

t.test('a username that is also a group title: both listed, with @name for the user', async (t) => {
  const found = candidates('bob', bob, [group(G1, 'Bob')])
  t.equal(found.length, 2)
  t.equal(ambiguous('bob', found), `"bob" could be the user bob, the group "Bob" (${G1}, 2 members): name a group by its id, the user as @bob`)
})
