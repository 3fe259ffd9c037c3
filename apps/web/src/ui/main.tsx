import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { isChatClientError, type ChatClient } from '@metadome/client'
import { ChatModel } from './chat-model.js'
import { describe } from './describe.js'
import { authUrl, forget, resume, services, signOut, type Services } from './session.js'
import { ResetPassword, VerifyEmail } from './mailed-links.js'
import { SignIn } from './sign-in.js'
import { Shell } from './shell.js'

// The page: open the key store, resume the account this browser was signed
// in to (its keys and tokens are in IndexedDB), or show the sign-in form.
// At /reset-password and /verify-email (auth-api's mailed links) it first
// shows that link's screen, then goes on at / as usual.

type State =
  | { kind: 'link', path: '/reset-password' | '/verify-email' }
  | { kind: 'loading' }
  | { kind: 'signed-out', services: Services, notice?: string }
  | { kind: 'signed-in', services: Services, model: ChatModel }
  | { kind: 'failed', message: string, retry?: () => void }

function App () {
  const [state, setState] = useState<State>(() => {
    const path = location.pathname
    return path === '/reset-password' || path === '/verify-email' ? { kind: 'link', path } : { kind: 'loading' }
  })

  const enter = (s: Services, client: ChatClient): void => {
    const model = new ChatModel(client)
    client.on('closed', ({ error }) => {
      // The session ended elsewhere (signed out from another device, password changed).
      if (error === undefined) return
      model.stop()
      void forget(s).then(() => { setState({ kind: 'signed-out', services: s, notice: describe(error) }) })
    })
    setState({ kind: 'signed-in', services: s, model })
    model.start().catch((err: unknown) => { model.report(err) })
  }

  const boot = async (notice?: string): Promise<void> => {
    let s: Services
    try {
      s = await services()
    } catch {
      setState({ kind: 'failed', message: 'This browser does not let the page keep keys (IndexedDB is off, perhaps in a private window).' })
      return
    }
    try {
      const client = await resume(s)
      if (client === undefined) setState({ kind: 'signed-out', services: s, ...(notice !== undefined && { notice }) })
      else enter(s, client)
    } catch (err) {
      // The servers are down: the session is still good, so no sign-in form.
      if (isChatClientError(err, 'unreachable') || isChatClientError(err, 'timeout')) {
        setState({ kind: 'failed', message: describe(err), retry: () => { setState({ kind: 'loading' }); void boot() } })
        return
      }
      if (isChatClientError(err, 'session_ended') || isChatClientError(err, 'not_signed_in')) await forget(s)
      setState({ kind: 'signed-out', services: s, notice: notice ?? describe(err) })
    }
  }

  useEffect(() => { if (state.kind === 'loading') void boot() }, [])

  /** Leaves a mailed link's page for the app at / (the token leaves the address and the history). */
  const leaveLink = (notice?: string): void => {
    history.replaceState(null, '', '/')
    setState({ kind: 'loading' })
    void boot(notice)
  }

  switch (state.kind) {
    case 'link': return state.path === '/reset-password'
      ? <ResetPassword authUrl={authUrl()} onDone={leaveLink} />
      : <VerifyEmail authUrl={authUrl()} onDone={() => { leaveLink() }} />
    case 'loading': return <p class="boot">Loading metadome…</p>
    case 'failed': return (
      <div class="boot">
        <h1>metadome</h1>
        <p class="error" role="alert">{state.message}</p>
        {state.retry !== undefined && <p><button type="button" class="primary" onClick={state.retry}>Try again</button></p>}
      </div>
    )
    case 'signed-out': return <SignIn services={state.services} notice={state.notice} onSignedIn={(client) => { enter(state.services, client) }} />
    case 'signed-in': {
      const { model, services: s } = state
      return <Shell model={model} services={s} onSignOut={() => {
        model.stop()
        void signOut(s, model.client).catch(() => undefined).then(() => { setState({ kind: 'signed-out', services: s }) })
      }} />
    }
  }
}

const root = document.getElementById('app')
if (root !== null) {
  root.textContent = ''
  render(<App />, root)
}
