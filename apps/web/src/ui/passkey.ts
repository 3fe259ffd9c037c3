import { startAuthentication, startRegistration, WebAuthnError, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser'
import type { AuthenticationCredential, RegistrationCredential, WebAuthnOptions } from '@metadome/contracts'

// The browser's side of passkeys (WebAuthn), through @simplewebauthn/browser,
// the companion of the server library auth-api uses: it turns the server's
// JSON options into navigator.credentials' binary ones and the credential
// back into JSON, on browsers with and without the native JSON methods, and
// names why a ceremony failed. The options pass through untouched: auth-api
// made them for these functions.

/** Creates a passkey for the options of register-options; its JSON form for register. */
export async function passkeyAttestation (options: WebAuthnOptions): Promise<RegistrationCredential> {
  // WebAuthnOptions is the open JSON object generateRegistrationOptions returned.
  const credential = await startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON })
  return credential
}

/** Signs the challenge of login-options with a passkey the person picks; its JSON form for login. */
export async function passkeyAssertion (options: WebAuthnOptions): Promise<AuthenticationCredential> {
  const credential = await startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON })
  return credential
}

/** One sentence for a failed or cancelled ceremony, or undefined when it is not the browser's error. */
export function describePasskeyError (err: unknown): string | undefined {
  if (err instanceof WebAuthnError) {
    switch (err.code) {
      case 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED': return 'This passkey is already on your account.'
      case 'ERROR_INVALID_DOMAIN':
      case 'ERROR_INVALID_RP_ID': return 'Passkeys do not work at this address. Open metadome at its public address (https, or localhost).'
      default: break
    }
  }
  if (err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError' || (err instanceof WebAuthnError && err.code === 'ERROR_CEREMONY_ABORTED'))) {
    return 'No passkey was used: the request was cancelled or timed out.'
  }
  if (err instanceof Error && err.message.includes('WebAuthn is not supported')) return 'This browser does not support passkeys.'
  return undefined
}
