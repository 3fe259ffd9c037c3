import Type, { type Static } from 'typebox'
import { Strict, PageCursor } from './schema.js'
import { Email, LoginRequest, NewPassword, Password, UserId } from './users.js'

// REST schemas of auth-api's account management (DESIGN.md "Accounts"):
// email verification, password recovery, TOTP, passkeys, the audit log.
// Every request refuses unknown fields, like the rest of the contract.

/** 256 random bits, base64url without padding: mailed links, mfaToken. */
export const OneTimeToken = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'opaque one-time token' })

// POST /v1/auth/email/verify
export const VerifyEmailRequest = Strict({ token: OneTimeToken })
export type VerifyEmailRequest = Static<typeof VerifyEmailRequest>

// POST /v1/auth/password/forgot
export const ForgotPasswordRequest = Type.Union([
  Strict({ username: Type.String({ minLength: 1, maxLength: 64 }) }),
  Strict({ email: Email })
], { description: 'the account by username or by email address; the answer is the same whether it exists or not' })
export type ForgotPasswordRequest = Static<typeof ForgotPasswordRequest>

// POST /v1/auth/password/reset
export const ResetPasswordRequest = Strict({ token: OneTimeToken, password: NewPassword })
export type ResetPasswordRequest = Static<typeof ResetPasswordRequest>

/** Six digits from an authenticator app. */
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'six digits from the authenticator app' })

/** A TOTP code, or one of the recovery codes (xxxxx-xxxxx, any case, the dash optional). */
export const MfaCode = Type.String({
  pattern: '^(?:[0-9]{6}|[A-Za-z0-9]{5}-?[A-Za-z0-9]{5})$',
  description: 'six digits from the authenticator app, or a recovery code'
})

// POST /v1/auth/mfa/totp/enroll
export const EnrollTotpRequest = Strict({ currentPassword: Password })
export type EnrollTotpRequest = Static<typeof EnrollTotpRequest>

export const EnrollTotpResponse = Strict({
  secret: Type.String({ description: 'base32; shown once, to type into an authenticator app' }),
  otpauthUrl: Type.String({ description: 'otpauth://totp/… for a QR code' })
})
export type EnrollTotpResponse = Static<typeof EnrollTotpResponse>

// POST /v1/auth/mfa/totp/confirm
export const ConfirmTotpRequest = Strict({ code: TotpCode })
export type ConfirmTotpRequest = Static<typeof ConfirmTotpRequest>

export const RecoveryCodesResponse = Strict({
  recoveryCodes: Type.Array(Type.String(), { minItems: 10, maxItems: 10, description: 'each works once; shown only now' })
})
export type RecoveryCodesResponse = Static<typeof RecoveryCodesResponse>

// DELETE /v1/auth/mfa/totp
export const DisableTotpRequest = Strict({ currentPassword: Password, code: MfaCode })
export type DisableTotpRequest = Static<typeof DisableTotpRequest>

// POST /v1/auth/login, the second step when MFA is on
export const MfaLoginRequest = Strict({ mfaToken: OneTimeToken, code: MfaCode })
export type MfaLoginRequest = Static<typeof MfaLoginRequest>

/** What POST /v1/auth/login takes: a password, or the second step of an MFA sign-in. */
export const SignInRequest = Type.Union([LoginRequest, MfaLoginRequest])
export type SignInRequest = Static<typeof SignInRequest>

/** A 401 of POST /v1/auth/login: with code mfa_required it carries the mfaToken of the second step. */
export const LoginRefusedResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
  mfaToken: Type.Optional(OneTimeToken)
}, { description: 'An error; mfa_required carries mfaToken (valid 5 minutes) for {mfaToken, code}' })
export type LoginRefusedResponse = Static<typeof LoginRefusedResponse>

// Passkeys (WebAuthn). The JSON forms of PublicKeyCredential (what
// `credential.toJSON()` gives in browsers, and @simplewebauthn/browser).

const Base64Url = Type.String({ pattern: '^[A-Za-z0-9_-]*$', maxLength: 16_384 })
export const AuthenticatorTransport = Type.Union([Type.Literal('ble'), Type.Literal('cable'), Type.Literal('hybrid'), Type.Literal('internal'), Type.Literal('nfc'), Type.Literal('smart-card'), Type.Literal('usb')])
export type AuthenticatorTransport = Static<typeof AuthenticatorTransport>
const Attachment = Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')])
const ExtensionResults = Type.Object({}, { additionalProperties: true, maxProperties: 16, description: 'clientExtensionResults, as the browser gives them' })

export const PasskeyName = Type.String({ minLength: 1, maxLength: 64, description: 'a name the user recognises it by' })

export const RegistrationCredential = Strict({
  id: Base64Url,
  rawId: Base64Url,
  type: Type.Literal('public-key'),
  response: Strict({
    clientDataJSON: Base64Url,
    attestationObject: Base64Url,
    authenticatorData: Type.Optional(Base64Url),
    transports: Type.Optional(Type.Array(AuthenticatorTransport, { maxItems: 8 })),
    publicKeyAlgorithm: Type.Optional(Type.Integer()),
    publicKey: Type.Optional(Base64Url)
  }),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: ExtensionResults
})
export type RegistrationCredential = Static<typeof RegistrationCredential>

export const AuthenticationCredential = Strict({
  id: Base64Url,
  rawId: Base64Url,
  type: Type.Literal('public-key'),
  response: Strict({
    clientDataJSON: Base64Url,
    authenticatorData: Base64Url,
    signature: Base64Url,
    userHandle: Type.Optional(Base64Url)
  }),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: ExtensionResults
})
export type AuthenticationCredential = Static<typeof AuthenticationCredential>

/** PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON: handed to navigator.credentials as they are. */
export const WebAuthnOptions = Type.Object({
  challenge: Type.String({ description: 'base64url; valid 5 minutes, once' })
}, { additionalProperties: true, description: 'options for navigator.credentials.create() or .get() (JSON form)' })
export type WebAuthnOptions = Static<typeof WebAuthnOptions>

// POST /v1/auth/passkeys/register
export const RegisterPasskeyRequest = Strict({ name: Type.Optional(PasskeyName), credential: RegistrationCredential })
export type RegisterPasskeyRequest = Static<typeof RegisterPasskeyRequest>

// POST /v1/auth/passkeys/login
export const PasskeyLoginRequest = Strict({ credential: AuthenticationCredential })
export type PasskeyLoginRequest = Static<typeof PasskeyLoginRequest>

export const Passkey = Strict({
  id: Type.String({ format: 'uuid' }),
  name: PasskeyName,
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})
export type Passkey = Static<typeof Passkey>

export const PasskeyResponse = Strict({ passkey: Passkey })
export type PasskeyResponse = Static<typeof PasskeyResponse>

export const PasskeyList = Strict({ items: Type.Array(Passkey) })
export type PasskeyList = Static<typeof PasskeyList>

export const PasskeyIdParams = Strict({ id: Type.String({ format: 'uuid' }) })
export type PasskeyIdParams = Static<typeof PasskeyIdParams>

// PATCH /v1/auth/passkeys/:id
export const RenamePasskeyRequest = Strict({ name: PasskeyName })
export type RenamePasskeyRequest = Static<typeof RenamePasskeyRequest>

// GET /v1/admin/audit

export const AuditAction = Type.Union([
  Type.Literal('user.registered'), Type.Literal('user.updated'), Type.Literal('user.deleted'), Type.Literal('user.disabled'), Type.Literal('user.enabled'), Type.Literal('user.role_changed'),
  Type.Literal('login.succeeded'), Type.Literal('login.failed'),
  Type.Literal('password.changed'), Type.Literal('password.reset_requested'), Type.Literal('password.reset'),
  Type.Literal('email.changed'), Type.Literal('email.verification_requested'), Type.Literal('email.verified'),
  Type.Literal('mfa.totp_enrolled'), Type.Literal('mfa.totp_enabled'), Type.Literal('mfa.totp_disabled'), Type.Literal('mfa.failed'), Type.Literal('mfa.recovery_code_used'),
  Type.Literal('passkey.added'), Type.Literal('passkey.renamed'), Type.Literal('passkey.removed'),
  Type.Literal('session.revoked'), Type.Literal('session.logout'), Type.Literal('session.refresh_reused')
])
export type AuditAction = Static<typeof AuditAction>

/** Facts about the change (a method, a reason, which fields): never a secret, token, hash or address. */
export const AuditDetails = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null(), Type.Array(Type.String())]))
export type AuditDetails = Static<typeof AuditDetails>

export const AuditEntry = Strict({
  id: Type.String({ description: 'increasing with time' }),
  occurredAt: Type.String({ format: 'date-time' }),
  action: AuditAction,
  actorId: Type.Union([UserId, Type.Null()], { description: 'who did it; null for an anonymous caller (a failed sign-in, a mailed link) or a script' }),
  userId: Type.Union([UserId, Type.Null()], { description: 'whose account it concerns; null for an unknown one' }),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'the client address' }),
  details: AuditDetails
})
export type AuditEntry = Static<typeof AuditEntry>

export const AuditQuery = Strict({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(PageCursor),
  userId: Type.Optional(UserId)
})
export type AuditQuery = Static<typeof AuditQuery>

export const AuditPage = Strict({
  items: Type.Array(AuditEntry),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' })
}, { description: 'the audit log, newest first' })
export type AuditPage = Static<typeof AuditPage>
