import t from 'tap'
import { Semaphore } from '../src/semaphore.js'

t.test('no more tasks than slots run at once, and waiting ones run in order', async (t) => {
  const slots = new Semaphore(2)
  let running = 0
  let most = 0
  const order: number[] = []
  const gates: Array<() => void> = []
  const tasks = [0, 1, 2, 3, 4].map(async (i) => await slots.run(async () => {
    running++
    most = Math.max(most, running)
    order.push(i)
    await new Promise<void>((resolve) => gates.push(resolve))
    running--
  }))
  while (order.length < 5) {
    await new Promise((resolve) => setImmediate(resolve))
    gates.shift()?.()
  }
  for (const gate of gates) gate()
  await Promise.all(tasks)
  t.equal(most, 2)
  t.same(order, [0, 1, 2, 3, 4])
})

t.test('a failing task frees its slot', async (t) => {
  const slots = new Semaphore(1)
  await t.rejects(slots.run(async () => { throw new Error('boom') }))
  t.equal(await slots.run(async () => 'next'), 'next')
})
