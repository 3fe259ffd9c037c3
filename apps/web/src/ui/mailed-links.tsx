import { useEffect, useState } from 'preact/hooks'
import { Accounts, isChatClientError } from '@metadome/client'
import { describe, sentence } from './describe.js'

// Password recovery and email verification, the screens around auth-api's
// mailed links (DESIGN.md "Accounts"): asking for a reset link, and the two
// pages those links open, /reset-password?token=… and /verify-email?token=…
// (the web server serves the page there; main.tsx routes by the path). The
// token is read from the address and sent to auth-api once; it is never
// stored. These screens need no session.

/** What auth-api's one-time tokens look like: 256 random bits, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/

/** The token of a mailed link in this page's address, if it has a well-formed one. */
export function tokenInAddress (): string | undefined {
  const token = new URLSearchParams(location.search).get('token') ?? ''
  return TOKEN.test(token) ? token : undefined
}

const BROKEN_LINK = 'This link is incomplete. Open it again from the mail, whole, or ask for a new one.'

/** A link's token refused: spent, expired, replaced by a newer one, or never issued (auth-api says which way in its message). */
function linkRefused (err: unknown): string {
  return isChatClientError(err, 'bad_request') ? sentence(err.message) : describe(err)
}

export function ForgotPassword ({ authUrl, initial, onBack }: { authUrl: string, initial: string, onBack: () => void }) {
  const [who, setWho] = useState(initial)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const [sent, setSent] = useState(false)
  const submit = (): void => {
    const value = who.trim()
    if (value === '') { setError('Enter your username or your email address.'); return }
    setBusy(true)
    setError(undefined)
    new Accounts(authUrl).forgotPassword(value.includes('@') ? { email: value } : { username: value }).then(
      () => { setSent(true); setBusy(false) },
      (err: unknown) => { setError(describe(err)); setBusy(false) })
  }
  return (
    <main class="sign-in">
      <h1>metadome</h1>
      <h2>Reset your password</h2>
      {sent
        ? (
          <>
            {/* The same words whether or not the account exists: nobody learns who has one. */}
            <p class="notice" role="status">If an account with that name or address has an email address, a link to reset its password is on its way. It works for 30 minutes.</p>
            <div class="actions"><button type="button" class="primary" onClick={onBack}>Back to sign in</button></div>
          </>
          )
        : (
          <form aria-label="Reset your password" onSubmit={(e) => { e.preventDefault(); submit() }}>
            <p class="lede">We mail a link to the address of your account.</p>
            <label for="forgot-who">Username or email</label>
            <input id="forgot-who" autocomplete="username" autocapitalize="none" spellcheck={false} required maxLength={254}
              value={who} autoFocus onInput={(e) => { setWho(e.currentTarget.value) }} />
            {error !== undefined && <p class="error" role="alert">{error}</p>}
            <div class="actions">
              <button type="submit" class="primary" disabled={busy}>{busy ? 'Sending…' : 'Send reset link'}</button>
              <button type="button" disabled={busy} onClick={onBack}>Back</button>
            </div>
          </form>
          )}
    </main>
  )
}

/** /reset-password?token=…: a new password, typed twice; then back to sign-in (every session ended). */
export function ResetPassword ({ authUrl, onDone }: { authUrl: string, onDone: (notice?: string) => void }) {
  const [token] = useState(tokenInAddress)
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(token === undefined ? BROKEN_LINK : undefined)
  const submit = (): void => {
    if (token === undefined) return
    if (password.length < 8) { setError('Choose a password of at least 8 characters.'); return }
    if (new TextEncoder().encode(password).length > 72) { setError('That password is too long: at most 72 bytes (about 72 letters, fewer with accents or emoji).'); return }
    if (password !== again) { setError('The two passwords are not the same.'); return }
    setBusy(true)
    setError(undefined)
    new Accounts(authUrl).resetPassword(token, password).then(
      () => { onDone('Your password was changed, and you were signed out everywhere. Sign in with the new password.') },
      (err: unknown) => { setError(linkRefused(err)); setBusy(false) })
  }
  return (
    <main class="sign-in">
      <h1>metadome</h1>
      <h2>Choose a new password</h2>
      <form aria-label="Choose a new password" onSubmit={(e) => { e.preventDefault(); submit() }}>
        <p class="lede">Signing in anywhere then needs the new one: every session of your account ends.</p>
        <label for="new-password">New password</label>
        <input id="new-password" type="password" autocomplete="new-password" required maxLength={1024} aria-describedby="new-password-hint"
          value={password} autoFocus disabled={token === undefined} onInput={(e) => { setPassword(e.currentTarget.value) }} />
        <p id="new-password-hint" class="hint">At least 8 characters; not a common password, not your username.</p>
        <label for="new-password-again">Repeat new password</label>
        <input id="new-password-again" type="password" autocomplete="new-password" required maxLength={1024}
          value={again} disabled={token === undefined} onInput={(e) => { setAgain(e.currentTarget.value) }} />
        {error !== undefined && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || token === undefined}>{busy ? 'Saving…' : 'Set new password'}</button>
          <button type="button" disabled={busy} onClick={() => { onDone() }}>Back to sign in</button>
        </div>
      </form>
    </main>
  )
}

/** /verify-email?token=…: proves the address at once, and says so. */
export function VerifyEmail ({ authUrl, onDone }: { authUrl: string, onDone: () => void }) {
  const [state, setState] = useState<{ kind: 'checking' } | { kind: 'verified' } | { kind: 'failed', message: string }>({ kind: 'checking' })
  useEffect(() => {
    const token = tokenInAddress()
    if (token === undefined) { setState({ kind: 'failed', message: BROKEN_LINK }); return }
    new Accounts(authUrl).verifyEmail(token).then(
      () => { setState({ kind: 'verified' }) },
      (err: unknown) => { setState({ kind: 'failed', message: linkRefused(err) }) })
  }, [authUrl])
  return (
    <main class="sign-in">
      <h1>metadome</h1>
      <h2>Email verification</h2>
      {state.kind === 'checking' && <p role="status">Checking the link…</p>}
      {state.kind === 'verified' && <p class="notice" role="status">Your email address is verified.</p>}
      {state.kind === 'failed' && (
        <>
          <p class="error" role="alert">{state.message}</p>
          <p class="hint">Ask for a new link in Settings, once signed in.</p>
        </>
      )}
      <div class="actions"><button type="button" class="primary" disabled={state.kind === 'checking'} onClick={onDone}>Continue to metadome</button></div>
    </main>
  )
}
