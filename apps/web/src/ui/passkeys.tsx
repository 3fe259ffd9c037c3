import { useEffect, useState } from 'preact/hooks'
import { isChatClientError, type Accounts } from '@metadome/client'
import type { Passkey } from '@metadome/contracts'
import { describe, sentence } from './describe.js'
import { deviceName, longTime } from './format.js'
import { describePasskeyError, passkeyAttestation } from './passkey.js'

// The account's passkeys: add one (the browser or a security key makes it,
// for the options auth-api gives), see them with when each was last used,
// rename and remove them. A passkey signs in without password or code.

export function Passkeys ({ accounts, onChanged }: { accounts: Accounts, onChanged: () => void }) {
  const [items, setItems] = useState<Passkey[] | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)

  const load = (): void => {
    accounts.passkeys().then((p) => { setItems(p) }, (err: unknown) => { setError(describe(err)) })
  }
  useEffect(load, [accounts])
  const changed = (message: string): void => { setNotice(message); load(); onChanged() }

  const add = (): void => {
    setBusy(true)
    setError(undefined)
    setNotice(undefined)
    const chosen = name.trim() === '' ? deviceName(navigator.userAgent) : name.trim()
    void (async () => {
      try {
        const credential = await passkeyAttestation(await accounts.passkeyRegistrationOptions())
        const passkey = await accounts.registerPasskey(credential, chosen)
        setName('')
        changed(`Passkey "${passkey.name}" added. You can sign in with it instead of your password.`)
      } catch (err) {
        setError(describePasskeyError(err) ?? (isChatClientError(err, 'conflict')
          ? 'This passkey is already on your account.'
          : isChatClientError(err, 'bad_request') ? sentence(err.message) : describe(err)))
      }
      setBusy(false)
    })()
  }

  return (
    <section class="setting" aria-labelledby="passkeys-title">
      <h3 id="passkeys-title">Passkeys</h3>
      <p>Sign in with this device's screen lock or a security key instead of your password.</p>
      {notice !== undefined && <p class="notice" role="status">{notice}</p>}
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      {items === undefined && error === undefined && <p>Loading…</p>}
      {items !== undefined && items.length === 0 && <p class="sub">No passkeys yet.</p>}
      <ul class="passkeys" aria-label="Passkeys">
        {items?.map((p) => <PasskeyItem key={p.id} accounts={accounts} passkey={p} onChanged={changed} onError={setError} />)}
      </ul>
      <form class="stack" aria-label="Add a passkey" onSubmit={(e) => { e.preventDefault(); add() }}>
        <label for="passkey-name">Passkey name</label>
        <input id="passkey-name" maxLength={64} autocomplete="off" aria-describedby="passkey-name-hint" value={name} placeholder={deviceName(navigator.userAgent)}
          onInput={(e) => { setName(e.currentTarget.value) }} />
        <p id="passkey-name-hint" class="hint">To tell it from others later; optional.</p>
        <div class="actions"><button type="submit" disabled={busy}>{busy ? 'Waiting for the passkey…' : 'Add a passkey'}</button></div>
      </form>
    </section>
  )
}

function PasskeyItem ({ accounts, passkey, onChanged, onError }: {
  accounts: Accounts, passkey: Passkey, onChanged: (message: string) => void, onError: (message: string | undefined) => void
}) {
  const [mode, setMode] = useState<'view' | 'rename' | 'remove'>('view')
  const [name, setName] = useState(passkey.name)
  const [busy, setBusy] = useState(false)
  const act = (call: () => Promise<unknown>, message: string): void => {
    setBusy(true)
    onError(undefined)
    call().then(() => { setBusy(false); setMode('view'); onChanged(message) }, (err: unknown) => {
      setBusy(false)
      onError(isChatClientError(err, 'bad_request') ? sentence(err.message) : describe(err))
    })
  }
  const field = `passkey-rename-${passkey.id}`
  return (
    <li>
      {mode === 'rename'
        ? (
          <form class="inline" aria-label={`Rename ${passkey.name}`} onSubmit={(e) => {
            e.preventDefault()
            const next = name.trim()
            if (next === '') { onError('A passkey needs a name.'); return }
            act(async () => await accounts.renamePasskey(passkey.id, next), `Passkey renamed to "${next}".`)
          }}>
            <label for={field} class="visually-hidden">New name for {passkey.name}</label>
            <input id={field} maxLength={64} required autocomplete="off" value={name} autoFocus onInput={(e) => { setName(e.currentTarget.value) }} />
            <button type="submit" class="primary" disabled={busy}>Save</button>
            <button type="button" disabled={busy} onClick={() => { setName(passkey.name); setMode('view') }}>Cancel</button>
          </form>
          )
        : (
          <>
            <div>
              <p class="name">{passkey.name}</p>
              <p class="sub">added {longTime(passkey.createdAt)} · {passkey.lastUsedAt === null ? 'never used to sign in' : `last used ${longTime(passkey.lastUsedAt)}`}</p>
            </div>
            {mode === 'remove'
              ? (
                <div class="inline" role="group" aria-label={`Remove ${passkey.name}?`}>
                  <button type="button" class="danger" disabled={busy} onClick={() => { act(async () => { await accounts.removePasskey(passkey.id) }, `Passkey "${passkey.name}" removed.`) }}>
                    Yes, remove {passkey.name}
                  </button>
                  <button type="button" disabled={busy} onClick={() => { setMode('view') }}>Keep it</button>
                </div>
                )
              : (
                <div class="inline">
                  <button type="button" aria-label={`Rename ${passkey.name}`} onClick={() => { setMode('rename') }}>Rename</button>
                  <button type="button" class="danger" aria-label={`Remove ${passkey.name}`} onClick={() => { setMode('remove') }}>Remove</button>
                </div>
                )}
          </>
          )}
    </li>
  )
}
