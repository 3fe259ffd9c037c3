import { useEffect, useState } from 'preact/hooks'
import type { User } from '@metadome/contracts'
import type { ChatModel } from './chat-model.js'
import { describe } from './describe.js'
import { preview, shortTime } from './format.js'

// The left column: find people, start a group, and the conversations,
// newest activity first, each with its unread count and last activity.

export function Sidebar ({ model, onOpen, onNewGroup }: { model: ChatModel, onOpen: (id: string) => void, onNewGroup: () => void }) {
  return (
    <nav class="sidebar" aria-label="Chats">
      <PeopleSearch model={model} onOpen={onOpen} />
      <div class="sidebar-actions">
        <button type="button" onClick={onNewGroup}>New group</button>
      </div>
      <ConversationList model={model} onOpen={onOpen} />
    </nav>
  )
}

function PeopleSearch ({ model, onOpen }: { model: ChatModel, onOpen: (id: string) => void }) {
  const [q, setQ] = useState('')
  const [results, setResults] = useState<User[] | undefined>()
  const [error, setError] = useState<string | undefined>()

  useEffect(() => {
    const query = q.trim()
    if (query === '') {
      setResults(undefined)
      return
    }
    let stale = false
    // Waits for a pause in typing: one request per word, not per key.
    const timer = setTimeout(() => {
      model.client.users({ q: query, limit: 20 }).then((page) => {
        if (!stale) { setResults(page.items.filter((u) => u.id !== model.me)); setError(undefined) }
      }, (err: unknown) => { if (!stale) setError(describe(err)) })
    }, 250)
    return () => { stale = true; clearTimeout(timer) }
  }, [q, model])

  const start = async (user: User): Promise<void> => {
    setQ('')
    await model.openDirect(user)
    onOpen(model.client.directConversationId(user.id))
  }

  return (
    <div class="search">
      <input type="search" aria-label="Search people" placeholder="Search people" value={q}
        onInput={(e) => { setQ(e.currentTarget.value) }}
        onKeyDown={(e) => { if (e.key === 'Escape') setQ('') }} />
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      {results !== undefined && (
        <ul class="results" aria-label="People">
          {results.length === 0 && <li class="empty">Nobody by that name.</li>}
          {results.map((u) => (
            <li key={u.id}>
              <button type="button" aria-label={`Message ${u.username}`} onClick={() => { void start(u) }}>
                <span class="name">{u.username}</span>
                {u.displayName !== undefined && u.displayName !== u.username && <span class="sub">{u.displayName}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

function ConversationList ({ model, onOpen }: { model: ChatModel, onOpen: (id: string) => void }) {
  const list = model.sorted()
  return (
    <section class="conversations" aria-labelledby="conversations-heading">
      <h2 id="conversations-heading">Conversations</h2>
      {list.length === 0 && <p class="empty">No conversations yet. Search for someone to write to.</p>}
      <ul aria-label="Conversations">
        {list.map((c) => {
          const title = model.titleOf(c)
          const when = c.last?.sentAt ?? c.createdAt
          const open = model.openId === c.id
          return (
            <li key={c.id}>
              <button type="button" class="conversation" aria-current={open ? 'true' : undefined}
                aria-label={`${title}${c.unread > 0 ? `, ${c.unread} unread` : ''}`}
                aria-describedby={`last-${c.id}`}
                onClick={() => { onOpen(c.id) }}>
                <span class="row">
                  <span class="name">{title}</span>
                  <time dateTime={when}>{shortTime(when)}</time>
                </span>
                <span class="row">
                  <span class="sub" id={`last-${c.id}`}>
                    {c.last !== undefined ? `${c.last.senderId === model.me ? 'You: ' : c.kind === 'group' ? `${model.nameOf(c.last.senderId)}: ` : ''}${preview(c.last.text)}` : c.kind === 'group' ? `Group, ${c.members.length} members` : 'No messages yet'}
                  </span>
                  {c.unread > 0 && <span class="badge" aria-hidden="true">{c.unread}</span>}
                </span>
              </button>
            </li>
          )
        })}
      </ul>
    </section>
  )
}
