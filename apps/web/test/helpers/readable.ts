import type { Page } from 'playwright-core'

// Readable contrast and phone width, measured in the page: every visible
// element with text of its own, its colour against the first opaque
// background behind it (WCAG 2 relative luminance), at least 4.5:1, or 3:1
// for large text (24 px, or 18.66 px bold). Disabled controls are exempt,
// as in WCAG. And nothing wider than the window (no sideways scrolling).

const MEASURE = `(() => {
  const rgb = (c) => { const m = c.match(/[\\d.]+/g) || []; return m.map(Number) }
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b) }
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor)
      if (c.length >= 3 && (c.length === 3 || c[3] > 0.9)) return c
    }
    return [255, 255, 255]
  }
  const failures = []
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '')) continue
    if (el.closest(':disabled') || el.closest('[hidden]')) continue
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.height === 0) continue
    const s = getComputedStyle(el)
    if (s.visibility === 'hidden' || Number(s.opacity) === 0) continue
    const a = lum(rgb(s.color)), b = lum(background(el))
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5
    if (ratio < needed) failures.push(el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2) + ':1')
  }
  return { failures, overflow: document.documentElement.scrollWidth > window.innerWidth }
})()`

export async function readability (page: Page): Promise<{ failures: string[], overflow: boolean }> {
  return await page.evaluate(MEASURE) as { failures: string[], overflow: boolean }
}
