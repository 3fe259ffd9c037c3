import type { TSchema } from 'typebox'
import * as contracts from '@metadome/contracts'
import {
  ChatRpcErrorBody, ChatRpcMethods, ChatRpcReply, ClientFrames, CloseCode, ConversationChange, ConversationEvent, DeadLetterHeaders,
  ErrorCode, JoinedNotice, MAX_BODY_BYTES, ReceiptEventFrame, ServerFrame, StreamMessage, TypingEventFrame, UserEvent, UserEventType,
  chatStream, chatSubjects, usersStream, userEventSubject, type ChatRpcMethod, type ClientFrameType
} from '@metadome/contracts'
import type { Namespace } from '@metadome/nats'

// The AsyncAPI 3.0 document of chat-gateway, built from the TypeBox schemas of
// libs/contracts and from the very functions that name the NATS subjects
// (chatSubjects, chatStream, userEventSubject), called with a namespace whose
// prefix is the placeholder `{ns}`: a frame, payload or subject changed there
// changes the document. asyncapi.yaml is this document, written by
// `npm run asyncapi -w @metadome/chat-gateway`; a test fails when it differs.
//
// Operations are the gateway's own (`receive` = the gateway receives). What
// other apps do on a channel (auth-api publishes USERS, message-writer answers
// the RPC subjects and consumes CHAT) is said in the channel's description.
//
// What is not in libs/contracts is written here on purpose, in records keyed
// by the contract's own names (ClientFrameType, ChatRpcMethod), so that a new
// frame or method does not compile until it is documented.

export const ASYNCAPI_VERSION = '3.0.0'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }
type Ref = { $ref: string }

export interface AsyncApiMessage {
  name: string
  title: string
  summary?: string
  contentType: string
  payload: Json
  headers?: Json
}

export interface AsyncApiChannel {
  address: string | null
  title?: string
  description: string
  servers?: Ref[]
  parameters?: Record<string, { description: string, default?: string, enum?: string[] }>
  messages: Record<string, Ref>
  bindings?: JsonObject
}

export interface AsyncApiOperation {
  action: 'send' | 'receive'
  channel: Ref
  summary: string
  description?: string
  messages: Ref[]
  reply?: { channel: Ref, messages: Ref[] }
}

export interface AsyncApiDocument {
  asyncapi: string
  info: { title: string, version: string, description: string }
  defaultContentType: string
  servers: Record<string, JsonObject>
  channels: Record<string, AsyncApiChannel>
  operations: Record<string, AsyncApiOperation>
  components: {
    securitySchemes: Record<string, JsonObject>
    schemas: Record<string, Json>
    messages: Record<string, AsyncApiMessage>
  }
}

/** Subjects as the contracts spell them, with `{ns}` for the namespace. */
const placeholderNs: Namespace = {
  prefix: '{ns}',
  stream: (name) => `{ns}_${name}`,
  consumer: (name) => `{ns}_${name}`,
  bucket: (name) => `{ns}_${name}`,
  subject: (...tokens) => ['{ns}', ...tokens].join('.')
}

/**
 * Plain JSON Schema from TypeBox schemas. The shared ones (named when the
 * builder starts, and any with an `$id`: Message, Conversation, UserEvent,
 * JoinedNotice)
 * become entries of components.schemas and a `$ref` wherever they are used,
 * found by identity: TypeBox composes by reference. A bare `$id` repeated
 * inside one document would also make the parser resolve references against
 * it, so none is left.
 */
class Schemas {
  readonly components: Record<string, Json> = {}
  readonly #names = new Map<unknown, string>()

  constructor (shared: Record<string, TSchema>) {
    for (const [name, schema] of Object.entries(shared)) this.#names.set(schema, name)
  }

  json (schema: TSchema): Json {
    return this.#walk(schema)
  }

  #walk (node: unknown): Json {
    if (Array.isArray(node)) return node.map((n) => this.#walk(n))
    if (node === null || typeof node !== 'object') return node as Json
    const out: JsonObject = {}
    // Own enumerable keys only: TypeBox keeps its `~kind` marks hidden.
    for (const [key, value] of Object.entries(node)) {
      if (key !== '$id') out[key] = this.#walk(value)
    }
    const id = (node as { $id?: unknown }).$id
    const name = this.#names.get(node) ?? (typeof id === 'string' ? id : undefined)
    if (name === undefined) return out
    const known = this.components[name]
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(out)) {
      throw new Error(`two different schemas are both named ${name}`)
    }
    this.components[name] = out
    return { $ref: `#/components/schemas/${name}` }
  }
}

/** `HistoryReplyFrame` → `historyReply`: the name libs/contracts exports a server frame under. */
function serverFrameKey (frame: TSchema): string {
  const entry = Object.entries(contracts).find(([, value]) => value === frame)
  if (entry === undefined) throw new Error('a member of ServerFrame is not exported by name from libs/contracts')
  const name = entry[0].replace(/Frame$/, '')
  return name.charAt(0).toLowerCase() + name.slice(1)
}

/** The `type` a frame schema fixes (`{type: {const}}`, or the first member's of a union). */
function frameType (frame: TSchema): string {
  const schema = frame as { properties?: { type?: { const?: unknown } }, anyOf?: TSchema[] }
  const type = schema.properties?.type?.const ?? (schema.anyOf?.[0] === undefined ? undefined : frameType(schema.anyOf[0]))
  if (typeof type !== 'string') throw new Error('a frame without a literal type')
  return type
}

/** What the gateway answers to each client frame (DESIGN.md "WebSocket contract"); keys of the server messages. */
const clientFrameDocs: Record<ClientFrameType, { summary: string, reply?: string[] }> = {
  auth: { summary: 'Authenticate (the first frame, within WS_AUTH_TIMEOUT_MS, unless the upgrade carried `Authorization: Bearer`), or renew on a ready socket with a fresh token of the same user.', reply: ['ready', 'authed', 'error'] },
  send: { summary: 'Send a message to a user (their direct conversation) or into a conversation; acked once the CHAT stream stored it, the same ack for a repeated id.', reply: ['ack', 'error'] },
  sync: { summary: 'Every message after `after` in the caller\'s conversations, in seq order (as `message` frames), then `synced`.', reply: ['message', 'synced', 'error'] },
  history: { summary: 'One conversation\'s messages before a seq, newest first.', reply: ['historyReply', 'error'] },
  conversations: { summary: 'The caller\'s conversations.', reply: ['conversationsReply', 'error'] },
  receipt: { summary: 'A delivered or read receipt, relayed to the other members (`read` is stored); no reply unless it fails.', reply: ['error'] },
  typing: { summary: 'Typing, relayed to the other members, not stored; no reply unless it fails.', reply: ['error'] },
  ping: { summary: 'Application-level ping.', reply: ['pong'] },
  group: { summary: 'Create a group, add, remove, leave, rename or set a role; the reply is the group after the change.', reply: ['conversation', 'error'] }
}

/** The server frames, by the key serverFrameKey gives them. */
const serverFrameDocs: Record<string, string> = {
  ready: 'The socket is authenticated: sent after an upgrade with a token, or in reply to the first `auth` frame (with its `ref`).',
  authed: 'The reply to an `auth` frame on a ready socket: the socket now lives on the new token until `expiresAt` (plus WS_TOKEN_GRACE_MS).',
  ack: 'The message is stored in the CHAT stream, with its seq; the same ack for a repeated id.',
  message: 'A message of one of the user\'s conversations: new, or during a `sync`.',
  synced: 'The end of a `sync`: every message up to `cursor` was sent.',
  historyReply: 'The reply to `history`, newest first.',
  conversationsReply: 'The reply to `conversations`.',
  receiptEvent: 'Another member\'s receipt.',
  typingEvent: 'Another member is typing.',
  conversation: 'A conversation the user is in (or was just removed from): created, membership or roles changed, renamed, or the reply to a `group` frame.',
  pong: 'The reply to `ping`.',
  error: 'A request failed (`ref` = its ref, or for `send` the message id), or the socket did something wrong.'
}

/** Server frames sent without a request. */
const unprompted = ['ready', 'message', 'conversation', 'receiptEvent', 'typingEvent', 'error']

const rpcDocs: Record<ChatRpcMethod, string> = {
  'users.get': 'The user as the chat side knows them, or null.',
  'conversations.list': 'The conversations a user is a member of now, newest activity first, a page at a time (`nextCursor`).',
  'conversations.memberships': 'The ids of a user\'s conversations and where they joined, by id, a page at a time: what a gateway subscribes a connecting user to.',
  'conversations.membershipsOf': 'The first page of `conversations.memberships` for several users at once: what a gateway asks when many users connect together.',
  'conversations.get': 'One conversation, if the user is a member now, with their role.',
  'messages.history': 'A conversation\'s stored messages before a seq, newest first.',
  'messages.since': 'Catch-up for `sync`: stored messages after a seq in all of a user\'s conversations, and how far the writer has stored.',
  'receipts.read': 'Stores a read cursor; it never moves backwards.',
  'groups.authorize': 'Whether a group membership event may be published now, and the group as it will be after it.',
  'blocks.list': 'Whom a user blocked.',
  'blocks.set': 'Blocks or unblocks a user; a gateway then tells the others on the blocks notice subject.',
  'writer.position': 'How far the writer has stored CHAT.'
}

function description (schema: TSchema): string | undefined {
  const text = (schema as { description?: unknown }).description
  return typeof text === 'string' ? text : undefined
}

function missing (what: string): never {
  throw new Error(`the AsyncAPI document needs ${what}`)
}

const messageKeyPattern = /^[A-Za-z0-9_-]+$/

/** chat-gateway's AsyncAPI document: the WebSocket frames and the NATS subjects it uses. */
export function buildAsyncApi (): AsyncApiDocument {
  const schemas = new Schemas({ StreamMessage, ConversationEvent, ConversationChange, ChatRpcErrorBody })
  const messages: Record<string, AsyncApiMessage> = {}
  const ref = (key: string): Ref => {
    if (messages[key] === undefined) throw new Error(`no message ${key}`)
    return { $ref: `#/components/messages/${key}` }
  }
  const message = (key: string, m: Omit<AsyncApiMessage, 'contentType'>): void => {
    if (!messageKeyPattern.test(key) || messages[key] !== undefined) throw new Error(`message key ${key} is invalid or taken`)
    messages[key] = { ...m, contentType: 'application/json' }
  }

  // ------------------------------------------------------------ WebSocket
  const clientKeys = Object.keys(ClientFrames) as ClientFrameType[]
  for (const key of clientKeys) {
    const frame = ClientFrames[key]
    message(key, { name: frameType(frame), title: `${frameType(frame)} (client → gateway)`, summary: clientFrameDocs[key].summary, payload: schemas.json(frame) })
  }
  const serverKeys: string[] = []
  for (const frame of ServerFrame.anyOf) {
    const key = serverFrameKey(frame)
    serverKeys.push(key)
    message(key, {
      name: frameType(frame),
      title: `${frameType(frame)} (gateway → client)`,
      summary: serverFrameDocs[key] ?? missing(`a summary of the server frame ${key} (serverFrameDocs)`),
      payload: schemas.json(frame)
    })
  }

  const closeCodes = Object.entries(CloseCode).map(([name, code]) => `${code} ${name}`).join(', ')
  const errorCodes = ErrorCode.anyOf.map((c) => `\`${String(c.const)}\``).join(', ')
  const wsMessages = Object.fromEntries([...clientKeys, ...serverKeys].map((key) => [key, ref(key)]))
  const wsMessage = (key: string): Ref => {
    if (wsMessages[key] === undefined) throw new Error(`no WebSocket message ${key}`)
    return { $ref: `#/channels/ws/messages/${key}` }
  }
  const channels: Record<string, AsyncApiChannel> = {
    ws: {
      address: '/v1/ws',
      title: 'WebSocket',
      description: [
        'JSON text frames. Authenticate with `Authorization: Bearer <accessToken>` on the upgrade or, from a browser, with an `auth` frame first.',
        'Client requests may carry `ref`, echoed in the reply. A socket lives on its token: renew it with another `auth` frame (answered `authed`), or it is closed 4401 WS_TOKEN_GRACE_MS after the token expires.',
        `\`body\` is an opaque JSON object of at most ${MAX_BODY_BYTES} bytes serialized (the supplied clients put an end-to-end encrypted envelope there); the gateway never looks inside it.`,
        `Error codes: ${errorCodes}. Close codes: ${closeCodes}.`
      ].join('\n\n'),
      servers: [{ $ref: '#/servers/gateway' }],
      messages: wsMessages,
      bindings: {
        ws: {
          method: 'GET',
          headers: {
            type: 'object',
            properties: { Authorization: { type: 'string', pattern: '^Bearer ', description: 'optional: without it, the first frame is `auth`' } }
          },
          bindingVersion: '0.1.0'
        }
      }
    }
  }
  const operations: Record<string, AsyncApiOperation> = {}
  for (const key of clientKeys) {
    const docs = clientFrameDocs[key]
    operations[`receive${key.charAt(0).toUpperCase()}${key.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: '#/channels/ws' },
      summary: docs.summary,
      messages: [wsMessage(key)],
      ...(docs.reply !== undefined && { reply: { channel: { $ref: '#/channels/ws' }, messages: docs.reply.map(wsMessage) } })
    }
  }
  operations.sendUnprompted = {
    action: 'send',
    channel: { $ref: '#/channels/ws' },
    summary: 'Frames the gateway sends without a request: `ready` after an upgrade with a token, new messages, conversation changes, receipts and typing of other members, errors.',
    messages: unprompted.map(wsMessage)
  }

  // ------------------------------------------------------------ NATS
  const subjects = chatSubjects(placeholderNs)
  const chat = chatStream(placeholderNs)
  const users = usersStream(placeholderNs)
  const nats = [{ $ref: '#/servers/nats' }]
  const ns = { description: 'NATS_NAMESPACE', default: 'metadome' }
  const conversationId = { description: description(contracts.ConversationId) ?? missing('a description of ConversationId') }
  const groupId = { description: 'the group\'s UUID' }
  const userId = { description: 'the user\'s UUID' }
  const natsHeaders = (properties: Record<string, string>): Json => ({
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).map(([name, description]) => [name, { type: 'string', description }]))
  })
  const republished = {
    'Nats-Sequence': 'the CHAT stream sequence (`seq`)',
    'Nats-Msg-Id': 'the id it was published with',
    'Nats-Stream': 'the stream',
    'Nats-Subject': 'the subject it was stored on'
  }

  message('streamMessage', {
    name: 'StreamMessage',
    title: 'a message, as stored in CHAT',
    headers: natsHeaders({ 'Nats-Msg-Id': 'the message id: a repeat within the duplicate window is stored once' }),
    payload: schemas.json(StreamMessage)
  })
  message('liveMessage', {
    name: 'StreamMessage',
    title: 'a stored message, re-published by CHAT',
    headers: natsHeaders(republished),
    payload: schemas.json(StreamMessage)
  })
  message('conversationEvent', {
    name: 'ConversationEvent',
    title: 'a group membership change, as stored in CHAT',
    headers: natsHeaders({ 'Nats-Msg-Id': 'the event id' }),
    payload: schemas.json(ConversationEvent)
  })
  message('liveConversationEvent', {
    name: 'ConversationEvent',
    title: 'a stored membership change, re-published by CHAT',
    headers: natsHeaders(republished),
    payload: schemas.json(ConversationEvent)
  })
  message('signalReceipt', { name: 'receipt', title: 'a receipt relayed between gateways', payload: schemas.json(ReceiptEventFrame) })
  message('signalTyping', { name: 'typing', title: 'typing relayed between gateways', payload: schemas.json(TypingEventFrame) })
  message('joined', { name: 'joined', title: 'a conversation a user is in', payload: schemas.json(JoinedNotice) })
  message('userEvent', {
    name: 'UserEvent',
    title: 'a user registered, updated, deleted or whose sessions ended',
    headers: natsHeaders({ 'Nats-Msg-Id': 'the event id' }),
    payload: schemas.json(UserEvent)
  })
  message('deadLetter', {
    name: 'DeadLetter',
    title: 'an entry of CHAT the writer could not store',
    headers: natsHeaders({
      [DeadLetterHeaders.reason]: 'why it was not stored',
      [DeadLetterHeaders.subject]: 'the subject it was stored on in CHAT',
      [DeadLetterHeaders.streamSeq]: 'its CHAT sequence'
    }),
    payload: { description: 'the original payload, byte for byte', anyOf: [schemas.json(StreamMessage), schemas.json(ConversationEvent)] }
  })

  const natsChannel = (c: Omit<AsyncApiChannel, 'servers' | 'messages'>, keys: string[]): AsyncApiChannel =>
    ({ ...c, servers: nats, messages: Object.fromEntries(keys.map((key) => [key, ref(key)])) })
  Object.assign(channels, {
    chatMessage: natsChannel({
      address: subjects.message('{conversationId}'),
      description: `JetStream, stored in CHAT (\`${chat.name}\` on \`${chat.subjects.join(', ')}\`, duplicate window ${chat.duplicate_window / 1e9} s). A gateway publishes each message once with \`Nats-Msg-Id\` = its id and acks the client only after the stream's ack; a repeat within the window gets the original seq. message-writer consumes CHAT into PostgreSQL; gateways read it directly to catch sockets up beyond what the writer has stored.`,
      parameters: { ns, conversationId }
    }, ['streamMessage']),
    liveMessage: natsChannel({
      address: subjects.liveMessage('{conversationId}'),
      description: `Core NATS: CHAT re-publishes (RePublish \`${chat.republish.src}\` → \`${chat.republish.dest}\`) each stored message once, never a duplicate, with its seq in \`Nats-Sequence\`. Every gateway with a member of the conversation connected subscribes (to \`${subjects.liveAny('{conversationId}')}\`, with the membership events, so both come in stream order), never in a queue group, and writes it to each member's sockets.`,
      parameters: { ns, conversationId }
    }, ['liveMessage']),
    chatConversationEvent: natsChannel({
      address: subjects.conversationEvent('{conversationId}'),
      description: 'JetStream, stored in CHAT, ordered with the messages. A gateway asks message-writer first (`groups.authorize`), then publishes with `Nats-Msg-Id` = a new event id, compare-and-set on the group\'s last change (`Nats-Expected-Last-Subject-Sequence`). The writer applies it from the stream and dead-letters one that is no longer allowed. Members added by an event see messages with seq above it; removed ones up to it.',
      parameters: { ns, conversationId: groupId }
    }, ['conversationEvent']),
    liveConversationEvent: natsChannel({
      address: subjects.liveConversationEvent('{conversationId}'),
      description: 'Core NATS: CHAT\'s re-publish of a stored membership event, with `Nats-Sequence`. Gateways send each local member a `conversation` frame with `change`; a local user the event removes gets it too, then nothing more of the conversation.',
      parameters: { ns, conversationId: groupId }
    }, ['liveConversationEvent']),
    signal: natsChannel({
      address: subjects.signal('{conversationId}'),
      description: 'Core NATS, not stored: receipts and typing, relayed by every gateway that follows the conversation to the sockets of the members other than the sender, as they are. A `read` receipt is stored through message-writer before it is relayed.',
      parameters: { ns, conversationId }
    }, ['signalReceipt', 'signalTyping']),
    userControl: natsChannel({
      address: subjects.user('{userId}'),
      description: `Core NATS, per user. Each gateway follows \`${subjects.user('*')}\` with one subscription and acts on the users it holds: \`joined\` names a conversation their gateways may not follow yet. The sender's gateway publishes it just before the first message of a direct conversation (\`lastSeq\` 0), so the member's gateway holds their live feed until it has caught up; the gateway that stored a group's creation or a member's addition publishes it with \`joinedSeq\`. A gateway that connects a user later finds such conversations itself, so a missed notice leaves no gap.`,
      parameters: { ns, userId }
    }, ['joined']),
    userEvents: natsChannel({
      address: userEventSubject(placeholderNs, '{type}'),
      description: `JetStream, the USERS stream (\`${users.name}\` on \`${users.subjects.join(', ')}\`), published by auth-api's outbox relay. Gateways follow it with an ordered consumer and close with 4403 the sockets of deleted users and of ended sessions (\`sessions_revoked\`: those of \`sessionIds\`, or every session older than the event).`,
      parameters: { ns, type: { description: 'the event type', enum: UserEventType.anyOf.map((t) => String(t.const)) } }
    }, ['userEvent']),
    deadLetter: natsChannel({
      address: subjects.deadLetter,
      description: 'Published (and kept in its DEADLETTER stream) by message-writer, never by a gateway: what it could never store, for operators.',
      parameters: { ns }
    }, ['deadLetter'])
  })

  Object.assign(operations, {
    publishMessage: { action: 'send', channel: { $ref: '#/channels/chatMessage' }, summary: 'Store a client\'s message.', messages: [{ $ref: '#/channels/chatMessage/messages/streamMessage' }] },
    catchUpFromStream: { action: 'receive', channel: { $ref: '#/channels/chatMessage' }, summary: 'Read CHAT with a short-lived consumer to catch sockets up past the writer\'s position.', messages: [{ $ref: '#/channels/chatMessage/messages/streamMessage' }] },
    receiveLiveMessage: { action: 'receive', channel: { $ref: '#/channels/liveMessage' }, summary: 'Fan a stored message out to the local members\' sockets.', messages: [{ $ref: '#/channels/liveMessage/messages/liveMessage' }] },
    publishConversationEvent: { action: 'send', channel: { $ref: '#/channels/chatConversationEvent' }, summary: 'Store a group change a client asked for (`group` frame or REST).', messages: [{ $ref: '#/channels/chatConversationEvent/messages/conversationEvent' }] },
    receiveConversationEvent: { action: 'receive', channel: { $ref: '#/channels/liveConversationEvent' }, summary: 'Send local members `conversation` frames; stop a removed member\'s feed.', messages: [{ $ref: '#/channels/liveConversationEvent/messages/liveConversationEvent' }] },
    relaySignal: { action: 'send', channel: { $ref: '#/channels/signal' }, summary: 'Relay a client\'s receipt or typing.', messages: [{ $ref: '#/channels/signal/messages/signalReceipt' }, { $ref: '#/channels/signal/messages/signalTyping' }] },
    receiveSignal: { action: 'receive', channel: { $ref: '#/channels/signal' }, summary: 'Write other gateways\' receipts and typing to local members\' sockets.', messages: [{ $ref: '#/channels/signal/messages/signalReceipt' }, { $ref: '#/channels/signal/messages/signalTyping' }] },
    announceJoined: { action: 'send', channel: { $ref: '#/channels/userControl' }, summary: 'Tell a user\'s gateways about a conversation they are now in.', messages: [{ $ref: '#/channels/userControl/messages/joined' }] },
    receiveJoined: { action: 'receive', channel: { $ref: '#/channels/userControl' }, summary: 'Follow a conversation a local user is now in and catch their sockets up.', messages: [{ $ref: '#/channels/userControl/messages/joined' }] },
    followUserEvents: { action: 'receive', channel: { $ref: '#/channels/userEvents' }, summary: 'Close the sockets of deleted users and ended sessions.', messages: [{ $ref: '#/channels/userEvents/messages/userEvent' }] }
  } satisfies Record<string, AsyncApiOperation>)

  // Request/reply to message-writer: one subject per method; the reply goes
  // to the caller's inbox, so its channel has no address.
  const replyMessages: Record<string, Ref> = {}
  for (const [method, { request, result }] of Object.entries(ChatRpcMethods)) {
    const key = `rpc-${method.replace(/\./g, '-')}`
    message(`${key}-request`, { name: method, title: `${method} request`, summary: rpcDocs[method as ChatRpcMethod], payload: schemas.json(request) })
    message(`${key}-reply`, { name: `${method} reply`, title: `${method} reply`, summary: '`{ ok: true, result }` or `{ ok: false, error: { code, message } }`', payload: schemas.json(ChatRpcReply(result)) })
    replyMessages[`${key}-reply`] = ref(`${key}-reply`)
    channels[key] = natsChannel({
      address: subjects.rpc(method),
      description: `Core NATS request/reply, served by message-writer in the queue group \`writer\` (replicas share the load). ${rpcDocs[method as ChatRpcMethod]} Schemas: ChatRpcMethods['${method}'] in libs/contracts/src/chat-rpc.ts.`,
      parameters: { ns }
    }, [`${key}-request`])
    operations[`call-${method.replace(/\./g, '-')}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${key}` },
      summary: rpcDocs[method as ChatRpcMethod],
      messages: [{ $ref: `#/channels/${key}/messages/${key}-request` }],
      reply: { channel: { $ref: '#/channels/rpcReply' }, messages: [{ $ref: `#/channels/rpcReply/messages/${key}-reply` }] }
    }
  }
  channels.rpcReply = {
    address: null,
    description: 'The caller\'s inbox, chosen by the NATS client for each request.',
    servers: nats,
    messages: replyMessages
  }

  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'metadome chat-gateway',
      version: '0.1.0',
      description: [
        'The WebSocket contract of chat-gateway (`GET /v1/ws`, DESIGN.md "WebSocket contract") and the NATS subjects it shares with the other gateways, message-writer and auth-api. Every subject starts with the namespace (`NATS_NAMESPACE`, default `metadome`), shown as `{ns}`. Operations are the gateway\'s.',
        'Fan-out is per conversation: a gateway publishes each message once to CHAT; once stored, the stream re-publishes it once, with its seq, and every gateway holding a member\'s socket receives it from there (one subscription per conversation, never a queue group).',
        'Generated from the schemas of libs/contracts; asyncapi.yaml is regenerated with `npm run asyncapi -w @metadome/chat-gateway`.'
      ].join('\n\n')
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: '127.0.0.1:3001',
        protocol: 'ws',
        description: 'chat-gateway (HOST, PORT); `wss` behind TLS.',
        security: [{ $ref: '#/components/securitySchemes/bearer' }]
      },
      nats: {
        host: '127.0.0.1:4222',
        protocol: 'nats',
        description: 'NATS with JetStream (NATS_URL).'
      }
    },
    channels,
    operations,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'an access token from auth-api, on the upgrade request or in the `auth` frame' }
      },
      schemas: schemas.components,
      messages
    }
  }
}
