import t from 'tap'
import { decades, escapeXml, latencyChart, niceStep } from '../../bench/chart.js'
import { percentile } from '../../bench/ws-load.js'

// The pure pieces of `npm run bench`'s report: the latency chart it writes to
// bench/results/ and the percentile every latency figure comes from.

t.test('percentile takes the value at floor(p * n) of the sorted samples', async (t) => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
  t.equal(percentile(sorted, 0.5), 51)
  t.equal(percentile(sorted, 0.99), 100)
  t.equal(percentile([7], 0.99), 7)
  t.ok(Number.isNaN(percentile([], 0.5)), 'no samples: NaN, never a made-up zero')
})

t.test('axis steps are 1, 2 or 5 times a power of ten', async (t) => {
  t.equal(niceStep(73_452), 20_000)
  t.equal(niceStep(16_050), 5_000)
  t.equal(niceStep(9), 2)
  t.equal(niceStep(0), 1)
  t.same(decades([0.4, 36.8]), [-1, 2])
  t.same(decades([10]), [1, 2], 'one value still gets a decade of height')
  t.same(decades([0, Number.NaN]), [0, 1])
})

t.test('the chart draws p99 solid and p50 dashed for each series, names escaped', async (t) => {
  const svg = latencyChart([
    { name: 'relay', points: [{ rate: 1000, p50Ms: 1, p99Ms: 5 }, { rate: 2000, p50Ms: 2, p99Ms: 9 }] },
    { name: 'Socket.IO <Redis>', points: [{ rate: 500, p50Ms: 3, p99Ms: 40 }] }
  ])
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  t.equal(svg.match(/<polyline /g)?.length, 4)
  t.equal(svg.match(/stroke-dasharray/g)?.length, 2)
  t.match(svg, 'Socket.IO &#60;Redis&#62;')
  t.notMatch(svg, 'NaN')
  t.equal(escapeXml('a&"b\''), 'a&#38;&#34;b&#39;')
})

t.test('a point without samples (NaN latency) is left out, not drawn as NaN', async (t) => {
  const svg = latencyChart([{ name: 'x', points: [{ rate: 1000, p50Ms: Number.NaN, p99Ms: Number.NaN }, { rate: 2000, p50Ms: 1, p99Ms: 2 }] }])
  t.notMatch(svg, 'NaN')
  t.equal(svg.match(/<circle /g)?.length, 2)
})
