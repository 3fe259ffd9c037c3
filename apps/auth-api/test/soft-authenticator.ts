import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

// A software passkey for tests, on node:crypto alone: an ES256 key, "none"
// attestation, and clientDataJSON and authenticatorData built here byte by
// byte (WebAuthn Level 2, §6.1 and §6.5), with the little CBOR they need.

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor>

function head (major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n])
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n])
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff])
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(n, 1)
  return b
}

/** Definite-length CBOR (RFC 8949) of integers, text, bytes, arrays and maps. */
export function cbor (v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v)
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8')
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v])
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)])
  return Buffer.concat([head(5, v.size), ...[...v].flatMap(([k, x]) => [cbor(k), cbor(x)])])
}

const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest()
const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url')

/** The options the server sends (JSON form), as far as the authenticator needs them. */
export interface CreateOptions { challenge: string, rp: { id?: string }, user: { id: string } }
export interface GetOptions { challenge: string }

const FLAG_UP = 0x01
const FLAG_UV = 0x04
const FLAG_AT = 0x40

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16)
  private readonly privateKey: KeyObject
  private readonly publicKey: KeyObject
  /** The signature counter; each assertion raises it unless a test holds it. */
  counter = 0
  private userHandle: string | undefined

  constructor (readonly rpId: string, readonly origin: string) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = pair.privateKey
    this.publicKey = pair.publicKey
  }

  get id (): string {
    return b64url(this.credentialId)
  }

  /** The COSE_Key of the public key: EC2 (1: 2), ES256 (3: -7), P-256 (-1: 1), x (-2), y (-3). */
  private coseKey (): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' })
    return cbor(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x ?? '', 'base64url')], [-3, Buffer.from(jwk.y ?? '', 'base64url')]]))
  }

  private authData (flags: number, attested?: Buffer): Buffer {
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    return Buffer.concat([sha256(this.rpId), Buffer.from([flags]), counter, ...(attested !== undefined ? [attested] : [])])
  }

  private clientData (type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8')
  }

  /** navigator.credentials.create() answering `options`, as credential.toJSON() gives it. */
  create (options: CreateOptions, overrides: { origin?: string } = {}) {
    this.userHandle = options.user.id
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.credentialId.length)
    const attested = Buffer.concat([Buffer.alloc(16) /* aaguid: none */, idLength, this.credentialId, this.coseKey()])
    const authData = this.authData(FLAG_UP | FLAG_UV | FLAG_AT, attested)
    const attestationObject = cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]))
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, overrides.origin ?? this.origin)),
        attestationObject: b64url(attestationObject),
        transports: ['internal' as const]
      },
      clientExtensionResults: {}
    }
  }

  /** navigator.credentials.get() answering `options`: an ES256 signature over authenticatorData and the hash of clientDataJSON. */
  get (options: GetOptions, overrides: { origin?: string, keepCounter?: boolean } = {}) {
    if (overrides.keepCounter !== true) this.counter++
    const authData = this.authData(FLAG_UP | FLAG_UV)
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides.origin ?? this.origin)
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle !== undefined && { userHandle: this.userHandle })
      },
      clientExtensionResults: {}
    }
  }
}
