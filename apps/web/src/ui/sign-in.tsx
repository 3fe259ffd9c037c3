import { useState } from 'preact/hooks'
import { isChatClientError, type ChatClient } from '@metadome/client'
import { describe } from './describe.js'
import { ForgotPassword } from './mailed-links.js'
import { describePasskeyError } from './passkey.js'
import { completeMfa, createAccount, signIn, signInWithPasskey, startOver, type KeysElsewhere, type Services, type SignInResult } from './session.js'

// The first screen: one form, two buttons. "Sign in" is the form's submit
// (Enter); "Create account" registers the same username and password, then
// signs in. The first sign-in on this browser makes this device's keys. An
// account with a second factor then asks for its code. "Sign in with a
// passkey" skips both fields. An account whose keys are on another device
// can start over here with new keys, which needs the password (a passkey
// sign-in asks for it then).

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/
const MFA_CODE = /^(?:[0-9]{6}|[A-Za-z0-9]{5}-?[A-Za-z0-9]{5})$/

type Busy = 'sign-in' | 'create' | 'code' | 'passkey' | 'new-keys' | undefined
type Step = { kind: 'form' } | { kind: 'mfa', mfaToken: string } | { kind: 'forgot' } | { kind: 'new-keys', keys: KeysElsewhere, passwordKnown: boolean }

export function SignIn ({ services, onSignedIn, notice }: { services: Services, onSignedIn: (client: ChatClient) => void, notice?: string | undefined }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState<Busy>()
  const [error, setError] = useState<string | undefined>()
  const [step, setStep] = useState<Step>({ kind: 'form' })

  const back = (): void => { setStep({ kind: 'form' }); setError(undefined); setPassword('') }

  const attempt = async (kind: Busy, action: () => Promise<SignInResult | ChatClient>, explain = describe): Promise<void> => {
    setBusy(kind)
    setError(undefined)
    try {
      const result = await action()
      if (!('kind' in result)) { onSignedIn(result); return }
      if (result.kind === 'signed_in') { onSignedIn(result.client); return }
      if (result.kind === 'mfa_required') setStep({ kind: 'mfa', mfaToken: result.mfaToken })
      // The password of the form signed in (with or without a code), unless a passkey did.
      else setStep({ kind: 'new-keys', keys: result, passwordKnown: kind !== 'passkey' })
    } catch (err) {
      setError(explain(err))
    }
    setBusy(undefined)
  }

  const run = (kind: 'sign-in' | 'create'): void => {
    const name = username.trim()
    if (!USERNAME.test(name)) { setError('A username is 3 to 32 letters, digits, dots, dashes or underscores.'); return }
    if (password === '' || (kind === 'create' && password.length < 8)) {
      setError(kind === 'create' ? 'Choose a password of at least 8 characters.' : 'Enter your password.')
      return
    }
    if (kind === 'create') void attempt('create', async () => await createAccount(services, name, password, undefined))
    else void attempt('sign-in', async () => await signIn(services, name, password))
  }

  if (step.kind === 'forgot') return <ForgotPassword authUrl={services.options.authUrl} initial={username.trim()} onBack={back} />

  if (step.kind === 'mfa') {
    return <SecondFactor busy={busy === 'code'} error={error} onBack={back}
      onCode={(code) => {
        if (!MFA_CODE.test(code)) { setError('Enter the six digits from your authenticator app, or a recovery code.'); return }
        void attempt('code', async () => await completeMfa(services, step.mfaToken, code), (err) =>
          // auth-api answers 401 both for a wrong code and for a sign-in left
          // longer than its 5 minutes; the SDK gives both as unauthorized.
          isChatClientError(err, 'unauthorized') || isChatClientError(err, 'forbidden')
            ? 'That code did not work: it is wrong, expired or already used. If this sign-in is older than five minutes, go back and start again.'
            : describe(err))
      }} />
  }

  if (step.kind === 'new-keys') {
    return <NewKeys keys={step.keys} busy={busy === 'new-keys'} error={error} onBack={back} askPassword={!step.passwordKnown}
      onStartOver={(typed) => {
        const pw = step.passwordKnown ? password : typed
        if (pw === '') { setError('Enter your password.'); return }
        void attempt('new-keys', async () => await startOver(services, step.keys.userId, pw), (err) =>
          // auth-api checks the password before it takes the new account key.
          isChatClientError(err, 'forbidden') ? 'Wrong password.' : describe(err))
      }} />
  }

  return (
    <main class="sign-in">
      <h1>metadome</h1>
      <p class="lede">End-to-end encrypted chat. Your keys are made and kept in this browser.</p>
      {notice !== undefined && <p class="notice" role="status">{notice}</p>}
      <form aria-label="Sign in" onSubmit={(e) => { e.preventDefault(); run('sign-in') }}>
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck={false} required maxLength={32}
          value={username} onInput={(e) => { setUsername(e.currentTarget.value) }} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required maxLength={1024}
          value={password} onInput={(e) => { setPassword(e.currentTarget.value) }} />
        {error !== undefined && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy !== undefined}>{busy === 'sign-in' ? 'Signing in…' : 'Sign in'}</button>
          <button type="button" disabled={busy !== undefined} onClick={() => { run('create') }}>{busy === 'create' ? 'Creating…' : 'Create account'}</button>
        </div>
        <div class="actions">
          <button type="button" disabled={busy !== undefined} onClick={() => {
            void attempt('passkey', async () => await signInWithPasskey(services), (err) =>
              describePasskeyError(err) ?? (isChatClientError(err, 'unauthorized') ? 'That passkey is not known here, or could not be verified. Try again, or sign in with your password.' : describe(err)))
          }}>{busy === 'passkey' ? 'Waiting for the passkey…' : 'Sign in with a passkey'}</button>
          <button type="button" class="link" disabled={busy !== undefined} onClick={() => { setError(undefined); setStep({ kind: 'forgot' }) }}>Forgot password?</button>
        </div>
      </form>
    </main>
  )
}

function SecondFactor ({ busy, error, onCode, onBack }: { busy: boolean, error: string | undefined, onCode: (code: string) => void, onBack: () => void }) {
  const [code, setCode] = useState('')
  return (
    <main class="sign-in">
      <h1>metadome</h1>
      <p class="lede">This account asks for a second factor.</p>
      <form aria-label="Second factor" onSubmit={(e) => { e.preventDefault(); onCode(code.trim()) }}>
        <label for="mfa-code">Authentication code</label>
        <input id="mfa-code" autocomplete="one-time-code" inputMode="numeric" autocapitalize="none" spellcheck={false} required maxLength={11}
          aria-describedby="mfa-hint" value={code} autoFocus onInput={(e) => { setCode(e.currentTarget.value) }} />
        <p id="mfa-hint" class="hint">Six digits from your authenticator app, or one of your recovery codes.</p>
        {error !== undefined && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Verify'}</button>
          <button type="button" disabled={busy} onClick={onBack}>Back</button>
        </div>
      </form>
    </main>
  )
}

function NewKeys ({ keys, busy, error, askPassword, onStartOver, onBack }: {
  keys: KeysElsewhere, busy: boolean, error: string | undefined, askPassword: boolean, onStartOver: (password: string) => void, onBack: () => void
}) {
  const [password, setPassword] = useState('')
  return (
    <main class="sign-in">
      <h1>metadome</h1>
      <form aria-label="Sign in with new keys" onSubmit={(e) => { e.preventDefault(); onStartOver(password) }}>
        <p class="notice" role="status">The keys of {keys.username} are on another device. Sign in there, or start over with new keys on this one.</p>
        <p class="hint" id="new-keys-hint">
          Starting over makes a new security key for your account: your contacts are warned, and messages sent to your old key cannot be read here.
        </p>
        {askPassword && (
          <>
            <label for="new-keys-password">Password</label>
            <input id="new-keys-password" type="password" autocomplete="current-password" required maxLength={1024} aria-describedby="new-keys-password-hint"
              value={password} autoFocus onInput={(e) => { setPassword(e.currentTarget.value) }} />
            <p id="new-keys-password-hint" class="hint">Replacing your keys needs your password, even after a passkey.</p>
          </>
        )}
        {error !== undefined && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy} aria-describedby="new-keys-hint">{busy ? 'Making new keys…' : 'Sign in with new keys'}</button>
          <button type="button" disabled={busy} onClick={onBack}>Back</button>
        </div>
      </form>
    </main>
  )
}
