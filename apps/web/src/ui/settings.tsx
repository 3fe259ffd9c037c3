import { useEffect, useState } from 'preact/hooks'
import type { Accounts } from '@metadome/client'
import type { User } from '@metadome/contracts'
import type { ChatModel } from './chat-model.js'
import { describe } from './describe.js'
import { Passkeys } from './passkeys.js'
import { accountsOf, type Services } from './session.js'
import { Totp } from './totp.js'

// The account's settings: its email address (and a mailed link proving it),
// two-factor sign-in (TOTP) and passkeys. Every change goes through the SDK's
// Accounts on this browser's session; what the screen shows (verified, TOTP
// on, how many passkeys) is auth-api's answer to GET /v1/users/me, asked
// again after each change.

export function Settings ({ model, services, onBack }: { model: ChatModel, services: Services, onBack: () => void }) {
  const [accounts, setAccounts] = useState<Accounts | undefined>()
  const [me, setMe] = useState<User | undefined>()
  const [error, setError] = useState<string | undefined>()

  const reload = (a: Accounts): void => {
    a.me().then((u) => { setMe(u); setError(undefined) }, (err: unknown) => { setError(describe(err)) })
  }
  useEffect(() => {
    let stale = false
    accountsOf(services, model.client).then((a) => {
      if (stale) return
      setAccounts(a)
      reload(a)
    }, (err: unknown) => { if (!stale) setError(describe(err)) })
    return () => { stale = true }
  }, [model, services])

  return (
    <section class="panel settings" aria-labelledby="settings-title">
      <header class="pane-header">
        <button type="button" class="back" onClick={onBack} aria-label="Back to conversations">←</button>
        <h2 id="settings-title">Settings</h2>
      </header>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      {(accounts === undefined || me === undefined) && error === undefined && <p>Loading…</p>}
      {accounts !== undefined && me !== undefined && (
        <>
          <Email accounts={accounts} me={me} />
          <Totp accounts={accounts} on={me.mfa?.totp === true} onChanged={() => { reload(accounts) }} />
          <Passkeys accounts={accounts} onChanged={() => { reload(accounts) }} />
        </>
      )}
    </section>
  )
}

function Email ({ accounts, me }: { accounts: Accounts, me: User }) {
  const [busy, setBusy] = useState(false)
  const [sent, setSent] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const email = me.email ?? undefined
  return (
    <section class="setting" aria-labelledby="email-title">
      <h3 id="email-title">Email address</h3>
      {email === undefined
        ? <p>No email address on this account, so a forgotten password cannot be reset by mail.</p>
        : <p><span class="value">{email}</span> · {me.emailVerified === true ? <span class="ok">Verified</span> : <span>Not verified</span>}</p>}
      {email !== undefined && me.emailVerified !== true && (
        <>
          <p class="hint">A verified address is where password reset links go.</p>
          {sent && <p class="notice" role="status">A link is on its way to {email}. Open it to verify the address.</p>}
          {error !== undefined && <p class="error" role="alert">{error}</p>}
          <div class="actions">
            <button type="button" disabled={busy} onClick={() => {
              setBusy(true)
              setError(undefined)
              accounts.requestEmailVerification().then(
                () => { setSent(true); setBusy(false) },
                (err: unknown) => { setError(describe(err)); setBusy(false) })
            }}>{busy ? 'Sending…' : sent ? 'Send verification mail again' : 'Send verification mail'}</button>
          </div>
        </>
      )}
    </section>
  )
}
