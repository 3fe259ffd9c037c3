import t from 'tap'
import type { GroupChangeResponse } from '@metadome/contracts'
import { until } from '@metadome/testing'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'
import { rest, say } from '../helpers/rest.js'

// The leak: a catch-up of a group joined while offline handed over the
// group's messages from before the join, when they came from the stream
// (the writer lagging or down) rather than from the writer's windows.

for (const writer of ['up', 'down'] as const) {
  t.test(`a group joined while offline is caught up from the join, with the writer ${writer}`, async (t) => {
    const s = await startStack(t)
    const [alice, bob, carol] = await Promise.all([s.user(), s.user(), s.user()])
    const A = await TestSocket.ready(s.a.wsUrl, s.jwks.token(alice))
    const created = await rest<GroupChangeResponse>(s, s.a, alice, 'POST', '/v1/conversations', { title: 'Team', members: [bob] })
    const group = created.body.conversation.id
    const early = [await say(A, group, { n: 1 }), await say(A, group, { n: 2 })]
    const added = await rest<GroupChangeResponse>(s, s.a, alice, 'POST', `/v1/conversations/${group}/members`, { userId: carol })
    t.equal(added.status, 200)
    const late = await say(A, group, { n: 3 })
    await until(async () => (await s.rpc.call('writer.position', {})).storedThrough >= late, 10_000, 'the writer to store it all')
    if (writer === 'down') await s.stopWriter()

    const C = await TestSocket.ready(s.b.wsUrl, s.jwks.token(carol))
    C.send({ type: 'sync', after: 0, ref: 's' })
    await C.next('synced', (f) => f.ref === 's', 20_000)
    const seqs = C.frames.flatMap((f) => f.type === 'message' ? [f.message.seq] : [])
    t.same(seqs, [late], `only what was sent after the join (not ${early.join(', ')})`)

    const live = await say(A, group, { n: 4 })
    t.equal((await C.next('message', (m) => m.message.seq === live)).message.seq, live, 'and the live feed from then on')
    A.close()
    C.close()
  })
}
