import { useState } from 'preact/hooks'
import { isChatClientError, type Accounts } from '@metadome/client'
import { describe } from './describe.js'

// Two-factor sign-in with an authenticator app (TOTP), as auth-api does it:
// turning it on takes the current password (a stolen session alone cannot),
// shows the secret to type or the otpauth:// address to paste into the app,
// then a first code from it proves the app has it; only then is it on, and
// the ten recovery codes are shown, this once. Turning it off takes the
// password and a code (or a recovery code).

const TOTP_CODE = /^[0-9]{6}$/
const MFA_CODE = /^(?:[0-9]{6}|[A-Za-z0-9]{5}-?[A-Za-z0-9]{5})$/

type Step =
  | { kind: 'idle' }
  | { kind: 'password' }
  | { kind: 'confirm', secret: string, otpauthUrl: string }
  | { kind: 'codes', codes: string[] }

export function Totp ({ accounts, on, onChanged }: { accounts: Accounts, on: boolean, onChanged: () => void }) {
  const [step, setStep] = useState<Step>({ kind: 'idle' })
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const [notice, setNotice] = useState<string | undefined>()

  const act = <T,>(call: () => Promise<T>, done: (value: T) => void, explain: (err: unknown) => string): void => {
    setBusy(true)
    setError(undefined)
    setNotice(undefined)
    call().then((v) => { setBusy(false); done(v) }, (err: unknown) => { setBusy(false); setError(explain(err)) })
  }
  const cancel = (): void => { setStep({ kind: 'idle' }); setError(undefined) }

  let body
  if (step.kind === 'codes') {
    body = (
      <>
        <p class="notice" role="status">Two-factor sign-in is on.</p>
        <p>Keep these recovery codes somewhere safe, away from this device. Each signs in once instead of a code from the app. They are not shown again.</p>
        <ol class="recovery-codes" aria-label="Recovery codes">{step.codes.map((c) => <li key={c}><code>{c}</code></li>)}</ol>
        <div class="actions"><button type="button" class="primary" onClick={() => { setStep({ kind: 'idle' }) }}>I saved my recovery codes</button></div>
      </>
    )
  } else if (on) {
    body = <TurnOff busy={busy} error={error} notice={notice} onSubmit={(password, code) => {
      if (password === '') { setError('Enter your password.'); return }
      if (!MFA_CODE.test(code)) { setError('Enter the six digits from your authenticator app, or a recovery code.'); return }
      act(async () => { await accounts.disableTotp(password, code) }, () => { setNotice('Two-factor sign-in is off.'); onChanged() },
        (err) => isChatClientError(err, 'forbidden') ? 'Wrong password, or the code is wrong, expired or already used.' : describe(err))
    }} />
  } else if (step.kind === 'idle') {
    body = (
      <>
        <p>Off. With it on, signing in with your password also asks for a code from an authenticator app.</p>
        {notice !== undefined && <p class="notice" role="status">{notice}</p>}
        <div class="actions"><button type="button" onClick={() => { setNotice(undefined); setStep({ kind: 'password' }) }}>Turn on two-factor sign-in</button></div>
      </>
    )
  } else if (step.kind === 'password') {
    body = <PasswordFirst busy={busy} error={error} onCancel={cancel} onSubmit={(password) => {
      if (password === '') { setError('Enter your password.'); return }
      act(async () => await accounts.enrollTotp(password), (r) => { setStep({ kind: 'confirm', ...r }) },
        (err) => isChatClientError(err, 'forbidden') ? 'Wrong password.' : isChatClientError(err, 'conflict') ? 'Two-factor sign-in is already on.' : describe(err))
    }} />
  } else {
    body = <Confirm secret={step.secret} otpauthUrl={step.otpauthUrl} busy={busy} error={error} onCancel={cancel} onSubmit={(code) => {
      if (!TOTP_CODE.test(code)) { setError('Enter the six digits your authenticator app shows.'); return }
      act(async () => await accounts.confirmTotp(code), (codes) => { setStep({ kind: 'codes', codes }); onChanged() },
        (err) => isChatClientError(err, 'forbidden') ? 'That code did not work. Check the app shows this account, and that this device\'s clock is right, then try the next code.' : describe(err))
    }} />
  }

  return (
    <section class="setting" aria-labelledby="totp-title">
      <h3 id="totp-title">Two-factor sign-in</h3>
      {body}
    </section>
  )
}

function PasswordFirst ({ busy, error, onSubmit, onCancel }: { busy: boolean, error: string | undefined, onSubmit: (password: string) => void, onCancel: () => void }) {
  const [password, setPassword] = useState('')
  return (
    <form class="stack" aria-label="Turn on two-factor sign-in" onSubmit={(e) => { e.preventDefault(); onSubmit(password) }}>
      <label for="totp-password">Current password</label>
      <input id="totp-password" type="password" autocomplete="current-password" required maxLength={1024} value={password} autoFocus
        onInput={(e) => { setPassword(e.currentTarget.value) }} />
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Continue'}</button>
        <button type="button" disabled={busy} onClick={onCancel}>Cancel</button>
      </div>
    </form>
  )
}

function Confirm ({ secret, otpauthUrl, busy, error, onSubmit, onCancel }: {
  secret: string, otpauthUrl: string, busy: boolean, error: string | undefined, onSubmit: (code: string) => void, onCancel: () => void
}) {
  const [code, setCode] = useState('')
  return (
    <form class="stack" aria-label="Confirm two-factor sign-in" onSubmit={(e) => { e.preventDefault(); onSubmit(code.trim()) }}>
      <p>Add this account to your authenticator app: type the secret key, or paste the address into an app that takes one.</p>
      <dl class="totp-secret">
        <dt>Secret key</dt>
        <dd><code>{secret.replace(/(.{4})(?=.)/g, '$1 ')}</code></dd>
        <dt>Address</dt>
        <dd><code>{otpauthUrl}</code></dd>
      </dl>
      <label for="totp-code">Code from your app</label>
      <input id="totp-code" autocomplete="one-time-code" inputMode="numeric" spellcheck={false} required maxLength={6} aria-describedby="totp-code-hint"
        value={code} autoFocus onInput={(e) => { setCode(e.currentTarget.value) }} />
      <p id="totp-code-hint" class="hint">The six digits the app shows now: they prove it has the key.</p>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Turn on'}</button>
        <button type="button" disabled={busy} onClick={onCancel}>Cancel</button>
      </div>
    </form>
  )
}

function TurnOff ({ busy, error, notice, onSubmit }: { busy: boolean, error: string | undefined, notice: string | undefined, onSubmit: (password: string, code: string) => void }) {
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  return (
    <form class="stack" aria-label="Turn off two-factor sign-in" onSubmit={(e) => { e.preventDefault(); onSubmit(password, code.trim()) }}>
      <p><span class="ok">On.</span> Signing in with your password also asks for a code from your authenticator app.</p>
      {notice !== undefined && <p class="notice" role="status">{notice}</p>}
      <label for="totp-off-password">Current password</label>
      <input id="totp-off-password" type="password" autocomplete="current-password" required maxLength={1024} value={password}
        onInput={(e) => { setPassword(e.currentTarget.value) }} />
      <label for="totp-off-code">Authentication code</label>
      <input id="totp-off-code" autocomplete="one-time-code" inputMode="numeric" autocapitalize="none" spellcheck={false} required maxLength={11}
        aria-describedby="totp-off-hint" value={code} onInput={(e) => { setCode(e.currentTarget.value) }} />
      <p id="totp-off-hint" class="hint">Six digits from your authenticator app, or one of your recovery codes.</p>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <div class="actions"><button type="submit" class="danger" disabled={busy}>{busy ? 'Turning off…' : 'Turn off two-factor sign-in'}</button></div>
    </form>
  )
}
