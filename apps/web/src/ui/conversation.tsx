import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { ChatMessage, ChatModel, ConversationView } from './chat-model.js'
import { longTime, shortTime } from './format.js'

// One conversation: its history (older pages load when the top is reached,
// or with the "Load older messages" button), live messages, who is typing,
// and on this user's messages whether they were delivered and read.

const MAX_TEXT = 16_000

export function Conversation ({ model, c, onBack, onSettings, onSafety }: {
  model: ChatModel
  c: ConversationView
  onBack: () => void
  onSettings: () => void
  onSafety: (userId: string) => void
}) {
  const title = model.titleOf(c)
  const typing = model.typingIn(c)
  return (
    <section class="conversation-view" aria-labelledby="conversation-title">
      <header class="pane-header">
        <button type="button" class="back" onClick={onBack} aria-label="Back to conversations">←</button>
        <div class="titles">
          <h2 id="conversation-title">{title}</h2>
          <p class="sub">{c.kind === 'group' ? `Group, ${c.members.length} member${c.members.length === 1 ? '' : 's'}` : 'Direct conversation, end-to-end encrypted'}</p>
        </div>
        {c.kind === 'group'
          ? !c.left && <button type="button" onClick={onSettings}>Group settings</button>
          : model.peerOf(c) !== model.me && <button type="button" onClick={() => { onSafety(model.peerOf(c)) }}>Safety number</button>}
      </header>
      <MessageLog model={model} c={c} />
      <p class="typing" role="status">{typing.length === 0 ? '' : `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`}</p>
      {c.left
        ? <p class="notice" role="status">You are no longer a member of this group: nothing new reaches you here.</p>
        : <Composer model={model} c={c} />}
    </section>
  )
}

function MessageLog ({ model, c }: { model: ChatModel, c: ConversationView }) {
  const ref = useRef<HTMLDivElement>(null)
  const before = useRef<{ first: string | undefined, height: number, top: number, atBottom: boolean }>({ first: undefined, height: 0, top: 0, atBottom: true })
  const first = c.messages[0]?.key

  // Keeps the view where the reader is: at the bottom for new messages (if
  // they were there), on the same message when older ones are put above.
  useLayoutEffect(() => {
    const el = ref.current
    if (el === null) return
    const was = before.current
    if (was.first !== undefined && was.first !== first) el.scrollTop = was.top + (el.scrollHeight - was.height)
    else if (was.atBottom) el.scrollTop = el.scrollHeight
    before.current = { first, height: el.scrollHeight, top: el.scrollTop, atBottom: true }
  }, [c.messages, first])

  const onScroll = (): void => {
    const el = ref.current
    if (el === null) return
    before.current = { first, height: el.scrollHeight, top: el.scrollTop, atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < 40 }
    if (el.scrollTop < 80 && c.hasMore && !c.loadingOlder) void model.loadOlder(c)
  }

  return (
    <div class="log" ref={ref} onScroll={onScroll} role="log" aria-label={`Messages with ${model.titleOf(c)}`} tabIndex={0}>
      {c.hasMore && c.loaded && (
        <button type="button" class="older" disabled={c.loadingOlder} onClick={() => { void model.loadOlder(c) }}>
          {c.loadingOlder ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      {!c.loaded && <p class="empty">Loading messages…</p>}
      {c.loaded && c.messages.length === 0 && <p class="empty">No messages yet. Say hello: only the people in this conversation can read it.</p>}
      <ol class="messages">
        {c.messages.map((m) => <Bubble key={m.key} model={model} c={c} m={m} />)}
      </ol>
    </div>
  )
}

function Bubble ({ model, c, m }: { model: ChatModel, c: ConversationView, m: ChatMessage }) {
  const mine = m.senderId === model.me
  return (
    <li class={`message ${mine ? 'mine' : 'theirs'}`}>
      {!mine && c.kind === 'group' && <span class="sender">{model.nameOf(m.senderId)}</span>}
      {m.text !== undefined ? <p class="text">{m.text}</p> : <p class="text note">{m.note}</p>}
      <span class="meta">
        <time dateTime={m.sentAt} title={longTime(m.sentAt)}>{shortTime(m.sentAt)}</time>
        {mine && <span class={`mark ${m.status}`}>{markOf(model, c, m)}</span>}
      </span>
      {m.error !== undefined && (
        <span class="error" role="alert">
          Not sent: {m.error}{' '}
          {m.text !== undefined && <button type="button" onClick={() => { void model.resend(c, m) }}>Send again</button>}
        </span>
      )}
    </li>
  )
}

/** Sending, Sent, Delivered, Read (a direct chat), or Read by N (a group). */
function markOf (model: ChatModel, c: ConversationView, m: ChatMessage): string {
  if (m.status === 'sending') return 'Sending…'
  if (m.status === 'failed') return 'Failed'
  const others = c.members.filter((id) => id !== model.me)
  if (others.length === 0) return 'Sent'
  const read = others.filter((id) => (c.read[id] ?? 0) >= m.seq).length
  const delivered = others.filter((id) => (c.delivered[id] ?? 0) >= m.seq).length
  if (c.kind === 'group') {
    if (read > 0) return read === others.length ? 'Read by all' : `Read by ${read}`
    return delivered > 0 ? 'Delivered' : 'Sent'
  }
  return read > 0 ? 'Read' : delivered > 0 ? 'Delivered' : 'Sent'
}

function Composer ({ model, c }: { model: ChatModel, c: ConversationView }) {
  const [text, setText] = useState('')
  const input = useRef<HTMLTextAreaElement>(null)
  useEffect(() => { input.current?.focus() }, [c.id])

  const send = (): void => {
    const body = text.trim()
    if (body === '' || body.length > MAX_TEXT) return
    setText('')
    void model.send(c, body)
  }
  const tooLong = text.length > MAX_TEXT

  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send() }}>
      <label for="message" class="visually-hidden">Message</label>
      <textarea id="message" ref={input} rows={1} placeholder="Write a message" value={text} aria-invalid={tooLong}
        aria-describedby={tooLong ? 'message-too-long' : undefined}
        onInput={(e) => { setText(e.currentTarget.value); model.typing(c) }}
        onKeyDown={(e) => {
          // Enter sends, Shift+Enter is a new line (as in most chat apps).
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send() }
        }} />
      <button type="submit" class="primary" disabled={text.trim() === '' || tooLong}>Send</button>
      {tooLong && <p id="message-too-long" class="error">At most {MAX_TEXT} characters in one message.</p>}
    </form>
  )
}
