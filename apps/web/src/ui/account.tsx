import { useEffect, useState } from 'preact/hooks'
import type { Session } from '@metadome/contracts'
import type { ChatModel } from './chat-model.js'
import { describe } from './describe.js'
import { deviceName, longTime } from './format.js'

// A contact's safety number (compare it with theirs, in person or on a call:
// equal numbers mean no one is in between), and this user's sessions: where
// they are signed in, with "Sign out this device" and ending the others.

export function SafetyNumber ({ model, userId, onBack }: { model: ChatModel, userId: string, onBack: () => void }) {
  const [state, setState] = useState<{ formatted: string, changed: boolean } | { error: string } | undefined>()
  const [trusted, setTrusted] = useState(false)
  useEffect(() => {
    let stale = false
    model.client.safetyNumber(userId).then(
      (n) => { if (!stale) setState({ formatted: n.formatted, changed: n.changed }) },
      (err: unknown) => { if (!stale) setState({ error: describe(err) }) })
    return () => { stale = true }
  }, [model, userId, trusted])
  const name = model.nameOf(userId)
  return (
    <section class="panel" aria-labelledby="safety-title">
      <header class="pane-header">
        <button type="button" class="back" onClick={onBack} aria-label="Back to the conversation">←</button>
        <h2 id="safety-title">Safety number with {name}</h2>
      </header>
      {state === undefined && <p>Computing…</p>}
      {state !== undefined && 'error' in state && <p class="error" role="alert">{state.error}</p>}
      {state !== undefined && 'formatted' in state && (
        <>
          <p>Compare these numbers with the ones {name} sees for you, in person or on a call. If they are the same, nobody can read your messages in between.</p>
          <p class="safety-number" aria-label="Safety number">{state.formatted}</p>
          {state.changed && (
            <div class="banner warning" role="alert">
              <p>{name}'s security key changed since you last talked. Only trust the new key once the numbers match.</p>
              <button type="button" onClick={() => { void model.trust(userId).then(() => { setTrusted(true) }) }}>Trust new key</button>
            </div>
          )}
        </>
      )}
    </section>
  )
}

export function Sessions ({ model, onBack, onSignOut }: { model: ChatModel, onBack: () => void, onSignOut: () => void }) {
  const [sessions, setSessions] = useState<Session[] | undefined>()
  const [error, setError] = useState<string | undefined>()
  const load = (): void => {
    model.client.sessions().then((s) => { setSessions([...s].sort((a, b) => Number(b.current) - Number(a.current))); setError(undefined) }, (err: unknown) => { setError(describe(err)) })
  }
  useEffect(load, [model])
  return (
    <section class="panel" aria-labelledby="sessions-title">
      <header class="pane-header">
        <button type="button" class="back" onClick={onBack} aria-label="Back to conversations">←</button>
        <h2 id="sessions-title">Your sessions</h2>
      </header>
      <p>Every browser or terminal where you are signed in. End any you do not recognise.</p>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      {sessions === undefined && error === undefined && <p>Loading…</p>}
      <ul class="sessions" aria-label="Sessions">
        {sessions?.map((s) => (
          <li key={s.id}>
            <div>
              <p class="name">{s.current ? 'This device' : deviceName(s.userAgent)}</p>
              <p class="sub">{s.current ? `${deviceName(s.userAgent)} · ` : ''}signed in {longTime(s.createdAt)} · last active {longTime(s.lastUsedAt)}{s.ip !== undefined && s.ip !== null ? ` · ${s.ip}` : ''}</p>
            </div>
            {s.current
              ? <button type="button" class="danger" onClick={onSignOut}>Sign out this device</button>
              : <button type="button" onClick={() => { model.client.endSession(s.id).then(load, (err: unknown) => { setError(describe(err)) }) }}>End session</button>}
          </li>
        ))}
      </ul>
    </section>
  )
}
