import t from 'tap'
import type { Conversation } from '@metadome/contracts'
import { inboxLines } from '../src/inbox.js'

// `metadome conversations` as printed, from the conversation list.

const ME = '00000000-0000-4000-8000-000000000001'
const BOB = '00000000-0000-4000-8000-000000000002'
const CAROL = '00000000-0000-4000-8000-000000000003'
const GROUP = '6f1c0c2e-0000-4000-8000-00000000000a'
const names = new Map([[BOB, 'bob'], [CAROL, 'carol']])

function conversation (c: Partial<Conversation> & Pick<Conversation, 'id' | 'kind' | 'members' | 'lastSeq'>): Conversation {
  return { createdAt: '2026-12-01T10:00:00.000Z', ...c }
}
const direct = (other: string, lastSeq: number, unread?: number): Conversation =>
  conversation({ id: `dm_${ME}_${other}`, kind: 'direct', members: [ME, other], lastSeq, ...(unread !== undefined && { unread }) })

t.test('newest activity first, each with its unread count; a group shows its members and its id', async (t) => {
  const lines = inboxLines([
    direct(BOB, 10, 2),
    conversation({ id: GROUP, kind: 'group', title: 'Book Club', members: [ME, BOB, CAROL], lastSeq: 42, unread: 1 }),
    direct(CAROL, 7, 0)
  ], ME, names)
  t.same(lines, [
    `Book Club   group, 3 members   1 unread   ${GROUP}`,
    'bob         direct             2 unread',
    'carol       direct'
  ])
})

t.test('conversations without messages come last, the newest first', async (t) => {
  const lines = inboxLines([
    conversation({ id: GROUP, kind: 'group', title: 'older', members: [ME], lastSeq: 0, createdAt: '2026-12-01T10:00:00.000Z' }),
    conversation({ id: GROUP.replace('a', 'b'), kind: 'group', title: 'newer', members: [ME, BOB], lastSeq: 0, createdAt: '2026-12-02T10:00:00.000Z' }),
    direct(BOB, 3)
  ], ME, names)
  t.same(lines.map((l) => l.split(' ')[0]), ['bob', 'newer', 'older'])
  t.match(lines[2], 'group, 1 member ')
})

t.test('a contact whose name is unknown is shown by id; a title cannot send escape sequences to the terminal', async (t) => {
  const stranger = '00000000-0000-4000-8000-000000000009'
  const lines = inboxLines([
    direct(stranger, 2),
    conversation({ id: GROUP, kind: 'group', title: 'evil\u001b]0;pwned\u0007', members: [ME, BOB], lastSeq: 1 })
  ], ME, names)
  t.match(lines[0], new RegExp(`^${stranger} +direct$`))
  t.match(lines[1], /^evil\uFFFD\]0;pwned\uFFFD +group/)
  t.notOk(lines.some((l) => l.includes('\u001b') || l.includes('\u0007')), 'no escape or bell reaches the terminal')
})

t.test('no conversations: one line saying so', async (t) => {
  t.same(inboxLines([], ME, names), ['no conversations yet'])
})
