import { useState } from 'preact/hooks'
import type { ChatModel, ConversationView } from './chat-model.js'
import { describe } from './describe.js'

// Making a group, and a group's settings: its name, its members (add by
// username, remove), leaving it. The gateway decides who may do what (owner
// and admins change a group; anyone may leave); a refusal is shown as it is.

const TITLE_MAX = 128

/** Runs an action with a busy flag and an error sentence. */
function useAction () {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const run = async (action: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (err) {
      setError(describe(err))
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, setError, run }
}

function usernamesIn (text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((s) => s.replace(/^@/, '')).filter((s) => s !== ''))]
}

export function NewGroup ({ model, onCreated, onBack }: { model: ChatModel, onCreated: (id: string) => void, onBack: () => void }) {
  const [title, setTitle] = useState('')
  const [members, setMembers] = useState('')
  const { busy, error, setError, run } = useAction()
  return (
    <section class="panel" aria-labelledby="new-group-title">
      <header class="pane-header">
        <button type="button" class="back" onClick={onBack} aria-label="Back to conversations">←</button>
        <h2 id="new-group-title">New group</h2>
      </header>
      <form class="stack" onSubmit={(e) => {
        e.preventDefault()
        const name = title.trim()
        const names = usernamesIn(members)
        if (name === '' || name.length > TITLE_MAX) { setError(`A group name is 1 to ${TITLE_MAX} characters.`); return }
        void run(async () => { onCreated(await model.createGroup(name, names)) })
      }}>
        <label for="group-name">Group name</label>
        <input id="group-name" value={title} maxLength={TITLE_MAX} required onInput={(e) => { setTitle(e.currentTarget.value) }} />
        <label for="group-members">Members</label>
        <input id="group-members" value={members} aria-describedby="group-members-hint" autocapitalize="none" spellcheck={false}
          onInput={(e) => { setMembers(e.currentTarget.value) }} />
        <p id="group-members-hint" class="hint">Usernames, separated by commas or spaces. You can add more later.</p>
        {error !== undefined && <p class="error" role="alert">{error}</p>}
        <div class="actions"><button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create group'}</button></div>
      </form>
    </section>
  )
}

export function GroupSettings ({ model, c, onBack, onLeft }: { model: ChatModel, c: ConversationView, onBack: () => void, onLeft: () => void }) {
  const [title, setTitle] = useState(c.title ?? '')
  const [username, setUsername] = useState('')
  const { busy, error, setError, run } = useAction()
  return (
    <section class="panel" aria-labelledby="group-settings-title">
      <header class="pane-header">
        <button type="button" class="back" onClick={onBack} aria-label="Back to the conversation">←</button>
        <h2 id="group-settings-title">Group settings</h2>
      </header>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <form class="stack" onSubmit={(e) => {
        e.preventDefault()
        const name = title.trim()
        if (name === '' || name.length > TITLE_MAX) { setError(`A group name is 1 to ${TITLE_MAX} characters.`); return }
        void run(async () => { await model.rename(c, name) })
      }}>
        <label for="rename-group">Group name</label>
        <div class="inline">
          <input id="rename-group" value={title} maxLength={TITLE_MAX} required onInput={(e) => { setTitle(e.currentTarget.value) }} />
          <button type="submit" disabled={busy}>Rename</button>
        </div>
      </form>
      <h3>Members</h3>
      <ul class="members" aria-label="Members">
        {c.members.map((id) => (
          <li key={id}>
            <span>{model.nameOf(id)}{c.roles[id] !== undefined && c.roles[id] !== 'member' && <span class="sub"> · {c.roles[id]}</span>}</span>
            {id !== model.me && (
              <button type="button" disabled={busy} aria-label={`Remove ${model.nameOf(id)}`}
                onClick={() => { void run(async () => { await model.removeMember(c, id) }) }}>Remove</button>
            )}
          </li>
        ))}
      </ul>
      <form class="stack" onSubmit={(e) => {
        e.preventDefault()
        const [name] = usernamesIn(username)
        if (name === undefined) { setError('Enter the username to add.'); return }
        void run(async () => { await model.addMember(c, name); setUsername('') })
      }}>
        <label for="add-member">Add member</label>
        <div class="inline">
          <input id="add-member" value={username} placeholder="username" autocapitalize="none" spellcheck={false}
            onInput={(e) => { setUsername(e.currentTarget.value) }} />
          <button type="submit" disabled={busy}>Add</button>
        </div>
      </form>
      <div class="actions danger-zone">
        <button type="button" class="danger" disabled={busy}
          onClick={() => { void run(async () => { await model.removeMember(c, model.me); onLeft() }) }}>Leave group</button>
      </div>
    </section>
  )
}
