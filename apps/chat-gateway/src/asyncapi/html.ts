import type { AsyncApiDocument, AsyncApiMessage } from './document.js'

// A browsable page of the AsyncAPI document: plain HTML and a little CSS, no
// script and nothing fetched from elsewhere, so it works offline and behind
// any content security policy. Each channel with the gateway's operations on
// it, then each message's headers and payload as JSON Schema, with the shared
// schemas linked at the end.

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** Escaped text with `code` spans. */
const inline = (text: string): string => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>')

/** Paragraphs of inline text, separated by blank lines. */
const prose = (text: string): string => text.split(/\n\n+/).map((p) => `<p>${inline(p)}</p>`).join('\n')

const anchor = (kind: string, key: string): string => `${kind}-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`

/** Pretty JSON with every `$ref` to a shared schema or message made a link. */
function json (value: unknown): string {
  const text = escape(JSON.stringify(value, null, 2))
  return `<pre>${text.replace(/&#34;#\/components\/(schemas|messages)\/([A-Za-z0-9_-]+)&#34;/g, (whole: string, kind: string, key: string) =>
    `<a href="#${anchor(kind === 'schemas' ? 'schema' : 'message', key)}">${whole}</a>`)}</pre>`
}

const refKey = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1)

function message (key: string, m: AsyncApiMessage): string {
  return [
    `<section class="message" id="${anchor('message', key)}">`,
    `<h4>${escape(m.title)} <small>${escape(key)}</small></h4>`,
    m.summary === undefined ? '' : prose(m.summary),
    m.headers === undefined ? '' : `<details><summary>headers</summary>${json(m.headers)}</details>`,
    `<details open><summary>payload <small>${escape(m.contentType)}</small></summary>${json(m.payload)}</details>`,
    '</section>'
  ].join('\n')
}

export function asyncApiHtml (doc: AsyncApiDocument): string {
  const servers = Object.entries(doc.servers).map(([key, s]) =>
    `<tr><td>${escape(key)}</td><td><code>${escape(`${String(s.protocol)}://${String(s.host)}`)}</code></td><td>${inline(String(s.description ?? ''))}</td></tr>`)
  const channels = Object.entries(doc.channels).map(([key, c]) => {
    const operations = Object.entries(doc.operations)
      .filter(([, o]) => o.channel.$ref === `#/channels/${key}`)
      .map(([id, o]) => {
        const reply = o.reply === undefined ? '' : ` → reply: ${o.reply.messages.map((r) => `<a href="#${anchor('message', refKey(r.$ref))}">${escape(refKey(r.$ref))}</a>`).join(', ')}`
        const sent = o.messages.map((r) => `<a href="#${anchor('message', refKey(r.$ref))}">${escape(refKey(r.$ref))}</a>`).join(', ')
        return `<li><b>${o.action === 'send' ? 'the gateway sends' : 'the gateway receives'}</b> ${sent}${reply} <small>(${escape(id)})</small><br>${inline(o.summary)}</li>`
      })
    const parameters = Object.entries(c.parameters ?? {}).map(([name, p]) =>
      `<li><code>{${escape(name)}}</code>: ${escape(p.description)}${p.enum === undefined ? '' : `, one of ${p.enum.map((e) => `<code>${escape(e)}</code>`).join(', ')}`}${p.default === undefined ? '' : ` (default <code>${escape(p.default)}</code>)`}</li>`)
    const messages = Object.values(c.messages).map((r) => refKey(r.$ref))
    return [
      `<section class="channel" id="${anchor('channel', key)}">`,
      `<h2><code>${escape(c.address ?? '(the requester\'s inbox)')}</code> <small>${escape(key)}${c.servers === undefined ? '' : ` on ${c.servers.map((s) => escape(refKey(s.$ref))).join(', ')}`}</small></h2>`,
      prose(c.description),
      parameters.length === 0 ? '' : `<ul>${parameters.join('\n')}</ul>`,
      c.bindings === undefined ? '' : `<details><summary>bindings</summary>${json(c.bindings)}</details>`,
      operations.length === 0 ? '<p><i>No operation of the gateway.</i></p>' : `<h3>Operations</h3><ul>${operations.join('\n')}</ul>`,
      '<h3>Messages</h3>',
      ...messages.map((m) => {
        const body = doc.components.messages[m]
        return body === undefined ? '' : message(m, body)
      }),
      '</section>'
    ].join('\n')
  })
  const schemas = Object.entries(doc.components.schemas).map(([key, s]) =>
    `<section class="schema" id="${anchor('schema', key)}"><h3>${escape(key)}</h3>${json(s)}</section>`)
  const toc = Object.entries(doc.channels).map(([key, c]) => `<li><a href="#${anchor('channel', key)}"><code>${escape(c.address ?? key)}</code></a></li>`)

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)} — AsyncAPI</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #1b1f24; }
code, pre { font: 13px/1.4 ui-monospace, monospace; }
pre { background: #f4f5f7; padding: .75rem; overflow-x: auto; border-radius: 4px; }
h2 { border-top: 1px solid #d0d4da; padding-top: 1rem; margin-top: 2rem; }
small { color: #5b6470; font-weight: normal; }
table { border-collapse: collapse; } td { border: 1px solid #d0d4da; padding: .25rem .5rem; }
.message { margin-left: 1rem; }
summary { cursor: pointer; }
</style>
</head>
<body>
<h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}, AsyncAPI ${escape(doc.asyncapi)}</small></h1>
${prose(doc.info.description)}
<p>The document: <a href="asyncapi.json">asyncapi.json</a>, <a href="asyncapi.yaml">asyncapi.yaml</a>. The REST routes: <a href="docs">docs</a>.</p>
<h2>Servers</h2>
<table>${servers.join('\n')}</table>
<h2>Channels</h2>
<ul>${toc.join('\n')}</ul>
${channels.join('\n')}
<h2>Shared schemas</h2>
${schemas.join('\n')}
</body>
</html>
`
}
