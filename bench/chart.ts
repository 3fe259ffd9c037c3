// The latency chart of `npm run bench`: p50 and p99 end-to-end latency
// against offered load, one colour per server, p99 solid and p50 dashed, on
// a log latency axis (the servers differ by orders of magnitude near their
// peaks). Plain SVG text, so the bench needs no plotting library.

export interface ChartPoint { rate: number, p50Ms: number, p99Ms: number }
export interface ChartSeries { name: string, points: ChartPoint[] }

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']
const W = 760
const H = 440
const M = { left: 70, right: 20, top: 40, bottom: 55 }

export function escapeXml (text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A round step (1, 2 or 5 times a power of ten) giving about `count` ticks up to `max`. */
export function niceStep (max: number, count = 5): number {
  if (!(max > 0)) return 1
  const raw = max / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const m = raw / power
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power
}

/** Decades [lo, hi] (as exponents of ten) covering every finite positive value. */
export function decades (values: number[]): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0)
  if (finite.length === 0) return [0, 1]
  const lo = Math.floor(Math.log10(Math.min(...finite)))
  const hi = Math.ceil(Math.log10(Math.max(...finite)))
  return [lo, hi > lo ? hi : lo + 1]
}

const fmt = (v: number): string => v >= 1000 ? `${v / 1000}k` : String(Number(v.toPrecision(3)))

export function latencyChart (series: ChartSeries[], title = 'End-to-end latency against offered load'): string {
  const points = series.flatMap((s) => s.points)
  const step = niceStep(Math.max(1, ...points.map((p) => p.rate)))
  const xMax = step * Math.ceil(Math.max(1, ...points.map((p) => p.rate)) / step)
  const [lo, hi] = decades(points.flatMap((p) => [p.p50Ms, p.p99Ms]))
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const x = (rate: number): number => M.left + (rate / xMax) * plotW
  // Values at or below zero (no samples) are left out of the lines rather than drawn off the chart.
  const y = (ms: number): number => M.top + plotH - ((Math.log10(ms) - lo) / (hi - lo)) * plotH
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`
  ]
  for (let rate = 0; rate <= xMax + step / 2; rate += step) {
    out.push(`<line x1="${x(rate)}" y1="${M.top}" x2="${x(rate)}" y2="${M.top + plotH}" stroke="#eee"/>`)
    out.push(`<text x="${x(rate)}" y="${M.top + plotH + 18}" text-anchor="middle">${fmt(rate)}</text>`)
  }
  for (let d = lo; d <= hi; d++) {
    const v = 10 ** d
    out.push(`<line x1="${M.left}" y1="${y(v)}" x2="${M.left + plotW}" y2="${y(v)}" stroke="#ddd"/>`)
    out.push(`<text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`)
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`)
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">offered load (messages/s)</text>`)
  out.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`)
  for (const [i, s] of series.entries()) {
    const colour = COLOURS[i % COLOURS.length] as string
    const sorted = [...s.points].sort((a, b) => a.rate - b.rate)
    for (const [key, dash] of [['p99Ms', ''], ['p50Ms', ' stroke-dasharray="6 4"']] as const) {
      const drawn = sorted.filter((p) => p[key] > 0 && Number.isFinite(p[key]))
      if (drawn.length === 0) continue
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${drawn.map((p) => `${x(p.rate).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ')}"/>`)
      for (const p of drawn) out.push(`<circle cx="${x(p.rate).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3" fill="${colour}"><title>${escapeXml(`${s.name} ${key.slice(0, 3)} at ${Math.round(p.rate)}/s: ${p[key].toFixed(2)} ms`)}</title></circle>`)
    }
    const ly = M.top + 16 + i * 18
    out.push(`<line x1="${M.left + 12}" y1="${ly - 4}" x2="${M.left + 40}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"/>`)
    out.push(`<text x="${M.left + 46}" y="${ly}">${escapeXml(s.name)}</text>`)
  }
  const ky = M.top + 16 + series.length * 18
  out.push(`<text x="${M.left + 12}" y="${ky}" fill="#555">solid: p99, dashed: p50</text>`)
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
