import t from 'tap'
import { readFile } from 'node:fs/promises'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import { build } from '../../helpers/gateway.js'

// The gateway serves its documents the way auth-api does: OpenAPI at
// /openapi.json with Swagger UI at /docs, and the AsyncAPI document of the
// WebSocket frames and NATS subjects at /asyncapi.json, /asyncapi.yaml and as
// a page at /asyncapi. No token needed, nothing fetched from another host.

t.test('/asyncapi.json serves the AsyncAPI document, which the parser validates', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/asyncapi.json')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const doc = res.json<{ asyncapi: string, channels: Record<string, { address: string | null }> }>()
  t.equal(doc.asyncapi, '3.0.0')
  t.equal(doc.channels.ws?.address, '/v1/ws')
  const { diagnostics } = await new Parser().parse(res.body)
  t.same(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => d.message), [], 'no parser error')
})

t.test('/asyncapi.yaml is the committed asyncapi.yaml', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/asyncapi.yaml')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/yaml/)
  t.equal(res.body, await readFile(new URL('../../../asyncapi.yaml', import.meta.url), 'utf8'))
})

t.test('/asyncapi is a page of every channel and message, with nothing loaded from elsewhere', async (t) => {
  const { app } = await build(t)
  const [page, doc] = await Promise.all([app.inject('/asyncapi'), app.inject('/asyncapi.json')])
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  const { channels, components } = doc.json<{ channels: Record<string, { address: string | null }>, components: { messages: Record<string, unknown>, schemas: Record<string, unknown> } }>()
  const html = page.body
  const escaped = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  for (const [key, channel] of Object.entries(channels)) {
    if (channel.address !== null) t.ok(html.includes(`<code>${escaped(channel.address)}</code>`), `channel ${key}`)
  }
  for (const key of Object.keys(components.messages)) t.ok(html.includes(`id="message-${key}"`), `message ${key}`)
  for (const key of Object.keys(components.schemas)) t.ok(html.includes(`id="schema-${key}"`), `schema ${key}`)
  t.ok(html.includes('<a href="#schema-Conversation">'), 'references are links')
  t.notMatch(html, /<script|<link|src=|https?:\/\//i, 'no script, stylesheet or image from anywhere')
})

t.test('/docs serves Swagger UI of the REST routes from the package, and /openapi.json the document', async (t) => {
  const { app } = await build(t)
  const docs = await app.inject('/docs')
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /^text\/html/)
  t.match(docs.body, /swagger/i)
  t.notMatch(docs.body, /https?:\/\/[^"']*\.(js|css)/, 'no asset from a CDN')
  const openapi = await app.inject('/openapi.json')
  t.equal(openapi.statusCode, 200)
  t.match(openapi.headers['content-type'], /^application\/json/)
  const paths = openapi.json<{ paths: Record<string, unknown> }>().paths
  t.ok(paths['/v1/conversations/{id}/messages'], 'the REST routes')
  for (const hidden of ['/openapi.json', '/asyncapi.json', '/asyncapi.yaml', '/asyncapi']) t.notOk(paths[hidden], `${hidden} is not a route of the API`)
})
