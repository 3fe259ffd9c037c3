import t from 'tap'
import { readFile } from 'node:fs/promises'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import type { TSchema } from 'typebox'
import {
  ChatRpcMethods, ChatRpcReply, ClientFrames, ConversationEvent, JoinedNotice, ServerFrame, StreamMessage, UserEvent, UserEventType,
  chatSubjects, userEventSubject
} from '@metadome/contracts'
import { namespace } from '@metadome/nats'
import { buildAsyncApi } from '../../src/asyncapi/document.js'
import { asyncApiYaml } from '../../src/asyncapi/yaml.js'

// The AsyncAPI document is generated from libs/contracts: these tests keep the
// committed asyncapi.yaml equal to the generator's output, valid for the
// AsyncAPI parser, and complete (every frame, payload, subject and method).

const committed = new URL('../../asyncapi.yaml', import.meta.url)
const doc = buildAsyncApi()

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** `value` with every `$ref` into components.schemas replaced by the schema. */
function resolve (value: Json): Json {
  if (Array.isArray(value)) return value.map(resolve)
  if (value === null || typeof value !== 'object') return value
  const ref = value.$ref
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const target = doc.components.schemas[ref.slice('#/components/schemas/'.length)]
    if (target === undefined) throw new Error(`dangling ${ref}`)
    return resolve(target)
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]))
}

/** A TypeBox schema as plain JSON Schema, without `$id`s. */
function plain (schema: TSchema): Json {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => key === '$id' ? undefined : value)) as Json
}

function payloadOf (key: string): Json {
  const message = doc.components.messages[key]
  if (message === undefined) throw new Error(`no message ${key}`)
  return resolve(message.payload)
}

t.test('the committed asyncapi.yaml is what the generator writes (npm run asyncapi -w @metadome/chat-gateway)', async (t) => {
  t.equal(await readFile(committed, 'utf8'), asyncApiYaml(doc), 'regenerate asyncapi.yaml: it differs from libs/contracts')
})

t.test('@asyncapi/parser reads asyncapi.yaml as AsyncAPI 3.0 with no error and no warning', async (t) => {
  const { document, diagnostics } = await new Parser().parse(await readFile(committed, 'utf8'))
  const problems = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning)
  t.same(problems.map((d) => `${d.code} at ${d.path.join('/')}: ${d.message}`), [])
  t.ok(document, 'parsed')
  t.equal(document?.version(), '3.0.0')
  const ws = document?.channels().get('ws')
  t.equal(ws?.address(), '/v1/ws')
  t.same(ws?.messages().all().map((m) => m.id()).sort(), Object.keys(doc.channels.ws?.messages ?? {}).sort(), 'the parser sees every frame')
  t.equal(document?.operations().get('receiveSend')?.reply()?.messages().all().map((m) => m.id()).join(','), 'ack,error', 'a send is answered ack or error')
})

t.test('the parser would catch a broken document: a payload that is no schema, a message off its channel', async (t) => {
  const broken = buildAsyncApi()
  const ping = broken.components.messages.ping
  if (ping !== undefined) ping.payload = { type: 'objekt' }
  const receivePing = broken.operations.receivePing
  if (receivePing !== undefined) receivePing.messages = [{ $ref: '#/channels/signal/messages/signalTyping' }]
  const { diagnostics } = await new Parser().parse(JSON.stringify(broken))
  const codes = new Set(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => d.code))
  t.ok(codes.has('asyncapi-document-resolved'), 'bad payload schema')
  t.ok(codes.has('asyncapi3-operation-messages-from-referred-channel'), 'message not on the channel')
})

t.test('every WebSocket frame of libs/contracts, authed included, is a message of /v1/ws with its very schema', async (t) => {
  const ws = doc.channels.ws?.messages ?? {}
  for (const [key, schema] of Object.entries(ClientFrames)) {
    t.ok(ws[key], `client frame ${key}`)
    t.same(payloadOf(key), plain(schema), `${key} payload`)
  }
  const serverFrames = ServerFrame.anyOf
  const byPayload = Object.keys(ws).filter((key) => !(key in ClientFrames))
  t.equal(byPayload.length, serverFrames.length, 'one message per server frame')
  for (const frame of serverFrames) {
    const key = byPayload.find((k) => JSON.stringify(payloadOf(k)) === JSON.stringify(plain(frame)))
    t.ok(key, `server frame ${String(frame.properties.type.const)}`)
  }
  t.same(payloadOf('authed'), plain(ServerFrame.anyOf.find((f) => f.properties.type.const === 'authed') as TSchema), 'the authed frame')

  // The gateway receives every client frame and sends every server frame, in reply or unprompted.
  const sent = new Set<string>()
  const received = new Set<string>()
  for (const op of Object.values(doc.operations).filter((o) => o.channel.$ref === '#/channels/ws')) {
    for (const m of op.messages) (op.action === 'send' ? sent : received).add(m.$ref.split('/').pop() ?? '')
    for (const m of op.reply?.messages ?? []) sent.add(m.$ref.split('/').pop() ?? '')
  }
  t.same([...received].sort(), Object.keys(ClientFrames).sort())
  t.same([...sent].sort(), byPayload.sort())
})

t.test('the NATS channels carry the contracts\' payloads on the contracts\' subjects', async (t) => {
  const ns = namespace('metadome')
  const subjects = chatSubjects(ns)
  const values = { ns: 'metadome', conversationId: 'dm_a_b', userId: 'u1', type: 'deleted' }
  const address = (channel: string): string =>
    (doc.channels[channel]?.address ?? '').replace(/\{(\w+)\}/g, (_, name: keyof typeof values) => values[name])
  t.equal(address('chatMessage'), subjects.message('dm_a_b'))
  t.equal(address('liveMessage'), subjects.liveMessage('dm_a_b'))
  t.equal(address('chatConversationEvent'), subjects.conversationEvent('dm_a_b'))
  t.equal(address('liveConversationEvent'), subjects.liveConversationEvent('dm_a_b'))
  t.equal(address('signal'), subjects.signal('dm_a_b'))
  t.equal(address('userControl'), subjects.user('u1'))
  t.equal(address('userEvents'), userEventSubject(ns, 'deleted'))
  t.equal(address('deadLetter'), subjects.deadLetter)
  t.same(doc.channels.userEvents?.parameters?.type?.enum, UserEventType.anyOf.map((l) => l.const))

  t.same(payloadOf('streamMessage'), plain(StreamMessage))
  t.same(payloadOf('liveMessage'), plain(StreamMessage))
  t.same(payloadOf('conversationEvent'), plain(ConversationEvent))
  t.same(payloadOf('liveConversationEvent'), plain(ConversationEvent))
  t.same(payloadOf('userEvent'), plain(UserEvent))
  t.same(payloadOf('joined'), plain(JoinedNotice))

  for (const [method, { request, result }] of Object.entries(ChatRpcMethods)) {
    const key = `rpc-${method.replace(/\./g, '-')}`
    t.equal(address(key), subjects.rpc(method), `${method} subject`)
    t.same(payloadOf(`${key}-request`), plain(request), `${method} request`)
    t.same(payloadOf(`${key}-reply`), plain(ChatRpcReply(result)), `${method} reply`)
    t.ok(Object.values(doc.operations).some((o) => o.channel.$ref === `#/channels/${key}` && o.reply !== undefined), `${method} is a request with a reply`)
  }
})
