import {
  CODE_OF_STATUS,
  type AuditPage, type AuditQuery, type AuthenticationCredential, type EnrollTotpResponse, type ForgotPasswordRequest,
  type LoginRefusedResponse, type Passkey, type PasskeyList, type PasskeyResponse, type RecoveryCodesResponse, type RegistrationCredential,
  type TokenResponse, type User, type UserResponse, type WebAuthnOptions
} from '@metadome/contracts'
import { ChatClientError } from './errors.js'
import { httpJson, join, type HttpRequest } from './http.js'
import { AuthApi } from './auth-api.js'
import { storeNames, type KeyStore } from './key-store.js'
import { keepSession, resumeSession, TokenKeeper, type AuthedCalls } from './token-keeper.js'

// Account management on auth-api (DESIGN.md "Accounts"): sign-in with a
// second factor or a passkey, mailed links (email verification, password
// recovery), TOTP, passkeys, and for admins disabling users and the audit
// log. The signed-in calls take their access token from an AuthedCalls (a
// ChatClient's session, or the one kept in a KeyStore: Accounts.resume), so
// an expired token is refreshed and the call retried once.

/** The first step of a sign-in: signed in, or a second factor is needed. */
export type SignInStep =
  | { kind: 'signed_in', tokens: TokenResponse }
  | { kind: 'mfa_required', mfaToken: string }

export class Accounts {
  readonly #base: string
  readonly #tokens: AuthedCalls | undefined

  /** `tokens` for the signed-in calls; the anonymous ones (sign-in, mailed links) need none. */
  constructor (authUrl: string, tokens?: AuthedCalls) {
    this.#base = authUrl
    this.#tokens = tokens
  }

  /** Accounts of the session kept in `keyStore` for `userId` (as ChatClient.resume finds it). */
  static async resume (options: { authUrl: string, keyStore: KeyStore, userId: string }): Promise<Accounts> {
    const api = new AuthApi(options.authUrl)
    const name = storeNames(options.userId).session
    const session = await resumeSession(api, options.keyStore, name)
    return new Accounts(options.authUrl, new TokenKeeper(api, options.keyStore, name, session))
  }

  /** Keeps a sign-in's tokens in `keyStore` as that user's session: ChatClient.resume then continues it. */
  static async keep (keyStore: KeyStore, tokens: TokenResponse): Promise<void> {
    await keepSession(keyStore, storeNames(tokens.user.id).session, tokens)
  }

  // ------------------------------------------------------------ signing in

  /**
   * POST /v1/auth/login with a password. With TOTP on, auth-api answers 401
   * mfa_required and an mfaToken: pass it to completeMfa with a code.
   */
  async login (username: string, password: string): Promise<SignInStep> {
    const url = join(this.#base, '/v1/auth/login')
    let res: Response
    try {
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ username, password }) })
    } catch (err) {
      throw new ChatClientError('unreachable', `cannot reach ${new URL(url).origin}`, { cause: err })
    }
    const text = await res.text()
    if (res.ok) return { kind: 'signed_in', tokens: JSON.parse(text) as TokenResponse }
    let body: Partial<LoginRefusedResponse> = {}
    try {
      body = JSON.parse(text) as Partial<LoginRefusedResponse>
    } catch {
      // Not our JSON (a proxy's page): the status decides.
    }
    if (body.error?.code === 'mfa_required' && typeof body.mfaToken === 'string') return { kind: 'mfa_required', mfaToken: body.mfaToken }
    const code = body.error?.code === 'invalid_credentials' ? 'invalid_credentials' : CODE_OF_STATUS[res.status] ?? 'server_error'
    throw new ChatClientError(code, body.error?.message ?? `POST /v1/auth/login: HTTP ${res.status}`, { status: res.status })
  }

  /** The second step: a TOTP code or a recovery code (unauthorized for a wrong one, or an expired mfaToken). */
  async completeMfa (mfaToken: string, code: string): Promise<TokenResponse> {
    return await this.#call<TokenResponse>({ method: 'POST', path: '/v1/auth/login', body: { mfaToken, code } })
  }

  /** Options for navigator.credentials.get(); answer them with passkeyLogin. */
  async passkeyLoginOptions (): Promise<WebAuthnOptions> {
    return await this.#call<WebAuthnOptions>({ method: 'POST', path: '/v1/auth/passkeys/login-options' })
  }

  /** Signs in with a passkey's assertion (its JSON form), instead of a password. */
  async passkeyLogin (credential: AuthenticationCredential): Promise<TokenResponse> {
    return await this.#call<TokenResponse>({ method: 'POST', path: '/v1/auth/passkeys/login', body: { credential } })
  }

  // ------------------------------------------------------------ mailed links

  /** Mails a reset link if the account exists; the answer is the same either way. */
  async forgotPassword (who: ForgotPasswordRequest): Promise<void> {
    await this.#call<unknown>({ method: 'POST', path: '/v1/auth/password/forgot', body: who })
  }

  /** A new password with the token of a mailed link; every session of the user ends. */
  async resetPassword (token: string, password: string): Promise<void> {
    await this.#call<undefined>({ method: 'POST', path: '/v1/auth/password/reset', body: { token, password } })
  }

  /** Mails the signed-in user a link proving their email address. */
  async requestEmailVerification (): Promise<void> {
    await this.#authed<unknown>({ method: 'POST', path: '/v1/auth/email/verify-request' })
  }

  async verifyEmail (token: string): Promise<void> {
    await this.#call<undefined>({ method: 'POST', path: '/v1/auth/email/verify', body: { token } })
  }

  // ------------------------------------------------------------ TOTP

  /** A new secret for an authenticator app; TOTP is on once confirmTotp gets a first code. */
  async enrollTotp (currentPassword: string): Promise<EnrollTotpResponse> {
    return await this.#authed<EnrollTotpResponse>({ method: 'POST', path: '/v1/auth/mfa/totp/enroll', body: { currentPassword } })
  }

  /** Turns TOTP on; the ten recovery codes are shown this once. */
  async confirmTotp (code: string): Promise<string[]> {
    return (await this.#authed<RecoveryCodesResponse>({ method: 'POST', path: '/v1/auth/mfa/totp/confirm', body: { code } })).recoveryCodes
  }

  async disableTotp (currentPassword: string, code: string): Promise<void> {
    await this.#authed<undefined>({ method: 'DELETE', path: '/v1/auth/mfa/totp', body: { currentPassword, code } })
  }

  // ------------------------------------------------------------ passkeys

  /** Options for navigator.credentials.create(); answer them with registerPasskey. */
  async passkeyRegistrationOptions (): Promise<WebAuthnOptions> {
    return await this.#authed<WebAuthnOptions>({ method: 'POST', path: '/v1/auth/passkeys/register-options' })
  }

  async registerPasskey (credential: RegistrationCredential, name?: string): Promise<Passkey> {
    return (await this.#authed<PasskeyResponse>({ method: 'POST', path: '/v1/auth/passkeys/register', body: { credential, ...(name !== undefined && { name }) } })).passkey
  }

  async passkeys (): Promise<Passkey[]> {
    return (await this.#authed<PasskeyList>({ method: 'GET', path: '/v1/auth/passkeys' })).items
  }

  async renamePasskey (id: string, name: string): Promise<Passkey> {
    return (await this.#authed<PasskeyResponse>({ method: 'PATCH', path: `/v1/auth/passkeys/${encodeURIComponent(id)}`, body: { name } })).passkey
  }

  async removePasskey (id: string): Promise<void> {
    await this.#authed<undefined>({ method: 'DELETE', path: `/v1/auth/passkeys/${encodeURIComponent(id)}` })
  }

  // ------------------------------------------------------------ the account and admins

  /** The signed-in user, with `mfa` (TOTP on, passkey count). */
  async me (): Promise<User> {
    return (await this.#authed<UserResponse>({ method: 'GET', path: '/v1/users/me' })).user
  }

  /** Admins: a disabled user cannot sign in, and every session of theirs ends. */
  async setDisabled (userId: string, disabled: boolean): Promise<User> {
    return (await this.#authed<UserResponse>({ method: 'PATCH', path: `/v1/users/${encodeURIComponent(userId)}`, body: { disabled } })).user
  }

  /** Admins: the audit log, newest first; pass nextCursor back for the next page. */
  async audit (query: AuditQuery = {}): Promise<AuditPage> {
    const params = new URLSearchParams()
    if (query.limit !== undefined) params.set('limit', String(query.limit))
    if (query.cursor !== undefined) params.set('cursor', query.cursor)
    if (query.userId !== undefined) params.set('userId', query.userId)
    const qs = params.toString()
    return await this.#authed<AuditPage>({ method: 'GET', path: `/v1/admin/audit${qs === '' ? '' : `?${qs}`}` })
  }

  async #call<T> (req: { method: HttpRequest['method'], path: string, body?: unknown, token?: string }): Promise<T> {
    return await httpJson<T>({ method: req.method, url: join(this.#base, req.path), ...(req.body !== undefined && { body: req.body }), ...(req.token !== undefined && { token: req.token }) })
  }

  async #authed<T> (req: { method: HttpRequest['method'], path: string, body?: unknown }): Promise<T> {
    const tokens = this.#tokens
    if (tokens === undefined) throw new ChatClientError('not_signed_in', 'this call needs a signed-in session: use Accounts.resume or pass tokens')
    return await tokens.authed(async (token) => await this.#call<T>({ ...req, token }))
  }
}
