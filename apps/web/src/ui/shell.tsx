import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { ChatModel } from './chat-model.js'
import { useModel } from './observable.js'
import { Sidebar } from './sidebar.js'
import { Conversation } from './conversation.js'
import { GroupSettings, NewGroup } from './groups.js'
import { SafetyNumber, Sessions } from './account.js'
import { Settings } from './settings.js'
import type { Services } from './session.js'

// The signed-in screens. Desktop: the list on the left, the open thing on
// the right. Phone width: one at a time (CSS, by data-pane), with a back
// button. Banners for the connection and for contacts whose key changed sit
// above both, announced to screen readers.

type View =
  | { kind: 'home' }
  | { kind: 'conversation' }
  | { kind: 'new-group' }
  | { kind: 'group-settings', id: string }
  | { kind: 'safety', userId: string, from?: string }
  | { kind: 'sessions' }
  | { kind: 'settings' }

export function Shell ({ model, services, onSignOut }: { model: ChatModel, services: Services, onSignOut: () => void }) {
  useModel(model)
  const [view, setView] = useState<View>({ kind: 'home' })
  const home = (): void => { model.close(); setView({ kind: 'home' }) }
  const open = (id: string): void => { setView({ kind: 'conversation' }); void model.open(id) }

  // The tab's title counts what is unread, for a person in another tab.
  const unread = model.sorted().reduce((n, c) => n + c.unread, 0)
  useEffect(() => { document.title = unread > 0 ? `(${unread}) metadome` : 'metadome' }, [unread])

  // Coming back to the tab reads what arrived meanwhile in the open conversation.
  useEffect(() => {
    const onVisible = (): void => {
      const c = model.openId === undefined ? undefined : model.conversations.get(model.openId)
      if (document.visibilityState === 'visible' && c !== undefined) model.markRead(c)
    }
    document.addEventListener('visibilitychange', onVisible)
    return () => { document.removeEventListener('visibilitychange', onVisible) }
  }, [model])

  const current = model.openId === undefined ? undefined : model.conversations.get(model.openId)
  let pane: JSX.Element | undefined
  if (view.kind === 'conversation' && current !== undefined) {
    pane = <Conversation model={model} c={current} onBack={home}
      onSettings={() => { setView({ kind: 'group-settings', id: current.id }) }}
      onSafety={(userId) => { setView({ kind: 'safety', userId, from: current.id }) }} />
  } else if (view.kind === 'new-group') {
    pane = <NewGroup model={model} onBack={home} onCreated={open} />
  } else if (view.kind === 'group-settings') {
    const c = model.conversations.get(view.id)
    pane = c === undefined ? undefined : <GroupSettings model={model} c={c} onBack={() => { open(c.id) }} onLeft={home} />
  } else if (view.kind === 'safety') {
    const from = view.from
    pane = <SafetyNumber model={model} userId={view.userId} onBack={() => { if (from !== undefined) open(from); else home() }} />
  } else if (view.kind === 'sessions') {
    pane = <Sessions model={model} onBack={home} onSignOut={onSignOut} />
  } else if (view.kind === 'settings') {
    pane = <Settings model={model} services={services} onBack={home} />
  }

  return (
    <div class="app" data-pane={pane === undefined ? 'list' : 'detail'}>
      <header class="topbar">
        <h1>metadome</h1>
        <span class="who">Signed in as <strong>{model.client.user.username}</strong></span>
        <button type="button" onClick={() => { model.close(); setView({ kind: 'sessions' }) }}>Sessions</button>
        <button type="button" onClick={() => { model.close(); setView({ kind: 'settings' }) }}>Settings</button>
        <button type="button" onClick={onSignOut}>Sign out</button>
      </header>
      <Banners model={model} onCompare={(userId) => { setView({ kind: 'safety', userId }) }} />
      <div class="panes">
        <Sidebar model={model} onOpen={open} onNewGroup={() => { model.close(); setView({ kind: 'new-group' }) }} />
        <main class="detail" aria-label="Conversation">
          {pane ?? <p class="empty placeholder">Choose a conversation, or search for someone to write to.</p>}
        </main>
      </div>
    </div>
  )
}

function Banners ({ model, onCompare }: { model: ChatModel, onCompare: (userId: string) => void }) {
  return (
    <div class="banners">
      <div role="status" aria-live="polite">
        {model.connection === 'down' && <p class="banner offline">Connection lost. Reconnecting… What you send meanwhile waits for it (up to half a minute).</p>}
        {model.connection === 'back' && <p class="banner online">Connected again.</p>}
      </div>
      {model.problem !== undefined && (
        <div class="banner warning" role="alert">
          <p>{model.problem}</p>
          <button type="button" onClick={() => { model.dismissProblem() }}>Dismiss</button>
        </div>
      )}
      {model.keyChanges.map((k) => (
        <div key={k.userId} class="banner warning" role="alert">
          <p><strong>{model.nameOf(k.userId)}'s security key changed.</strong> This happens when they reinstall or sign in anew, or if someone is trying to read your messages. Nothing is sent to them until you compare safety numbers.</p>
          <button type="button" onClick={() => { onCompare(k.userId) }}>Compare safety numbers</button>
        </div>
      ))}
    </div>
  )
}
