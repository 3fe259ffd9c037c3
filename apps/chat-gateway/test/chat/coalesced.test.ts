import t from 'tap'
import { coalesced } from '../../src/chat/coalesced.js'

// Each caller's answer comes from a call that started after it asked.

function counter (): { fn: () => Promise<number>, calls: () => number, finish: () => void } {
  let calls = 0
  const pending: Array<() => void> = []
  return {
    fn: async () => {
      const n = ++calls
      await new Promise<void>((resolve) => pending.push(resolve))
      return n
    },
    calls: () => calls,
    finish: () => { for (const resolve of pending.splice(0)) resolve() }
  }
}

const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

t.test('callers during a call share the next one; at most one runs at a time', async (t) => {
  const c = counter()
  const get = coalesced(c.fn)
  const first = get()
  await turn()
  const during = [get(), get(), get()]
  await turn()
  t.equal(c.calls(), 1, 'the next call waits for the running one')
  c.finish()
  t.equal(await first, 1)
  await turn()
  t.equal(c.calls(), 2, 'one call for the three who asked meanwhile')
  const later = get()
  await turn()
  c.finish()
  t.same(await Promise.all(during), [2, 2, 2], 'answered by a call started after they asked')
  await turn()
  c.finish()
  t.equal(await later, 3, 'who asked during the second call gets a third')
  t.equal(c.calls(), 3)
})

t.test('a failed call fails its callers only; the next caller starts afresh', async (t) => {
  let n = 0
  const get = coalesced(async () => {
    n++
    await new Promise((resolve) => setImmediate(resolve))
    if (n === 1) throw new Error('first fails')
    return n
  })
  const first = get()
  const second = get()
  await t.rejects(first, /first fails/)
  t.equal(await second, 2, 'the queued call runs after a failure')
  t.equal(await get(), 3, 'an idle helper calls at once')
})

t.test('spaced: calls start at least spacingMs apart; a caller after a quiet spell is answered at once', async (t) => {
  let calls = 0
  const starts: number[] = []
  const get = coalesced(async () => {
    starts.push(performance.now())
    return ++calls
  }, { spacingMs: 50 })
  t.equal(await get(), 1, 'the first caller at once')
  const soon = await Promise.all([get(), get(), get()])
  t.same(soon, [2, 2, 2], 'callers within the spacing share the next call')
  t.ok((starts[1] ?? 0) - (starts[0] ?? 0) >= 45, `started ${((starts[1] ?? 0) - (starts[0] ?? 0)).toFixed(0)} ms after the first`)
  await new Promise((resolve) => setTimeout(resolve, 60))
  const before = performance.now()
  t.equal(await get(), 3)
  t.ok(performance.now() - before < 40, 'no wait after a quiet spell')
})
