import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Jwk } from '@metadome/contracts'

export interface SigningKey {
  kid: string
  /** PEM (PKCS#8) of the private key; only the current key signs. */
  privatePem: string
  publicPem: string
  jwk: Jwk
}

export interface VerifyingKey {
  kid: string
  publicPem: string
  jwk: Jwk
}

export interface KeyRing {
  current: SigningKey
  /** Published and accepted, never used to sign: the next key of a rotation (or the previous one just after). */
  next?: VerifyingKey
  byKid: Map<string, VerifyingKey>
}

export class KeyConfigError extends Error {
  override name = 'KeyConfigError'
}

/** Where the generated key lives when JWT_PRIVATE_KEY_FILE is unset. */
export const generatedKeyPath = (dataDir: string): string => resolve(dataDir, 'auth', 'jwt-ed25519.pem')

function toJwk (publicKey: KeyObject): Jwk {
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string }
  // RFC 7638 thumbprint: a kid that is the same on every replica and changes with the key.
  const kid = createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url')
  return { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }
}

function verifying (publicKey: KeyObject, source: string): VerifyingKey {
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyConfigError(`${source} holds a ${publicKey.asymmetricKeyType ?? 'unknown'} key; an Ed25519 key is required`)
  }
  const jwk = toJwk(publicKey)
  return { kid: jwk.kid, jwk, publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() }
}

function parsePrivate (pem: string, source: string): SigningKey {
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch (err) {
    throw new KeyConfigError(`${source} is not a PEM private key: ${(err as Error).message}`)
  }
  const pub = verifying(createPublicKey(key), source)
  return { ...pub, privatePem: key.export({ format: 'pem', type: 'pkcs8' }).toString() }
}

async function readKeyFile (path: string, variable: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new KeyConfigError(`${variable}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
}

/**
 * The signing key from JWT_PRIVATE_KEY_FILE, or else one generated once under
 * DATA_DIR and reused on every later start (created with O_EXCL, so replicas
 * sharing the folder and starting together agree on one key).
 */
export async function loadKeyRing (opts: { privateKeyFile?: string, nextKeyFile?: string, dataDir: string, log: FastifyBaseLogger }): Promise<KeyRing> {
  let current: SigningKey
  if (opts.privateKeyFile !== undefined) {
    current = parsePrivate(await readKeyFile(opts.privateKeyFile, 'JWT_PRIVATE_KEY_FILE'), 'JWT_PRIVATE_KEY_FILE')
  } else {
    const path = generatedKeyPath(opts.dataDir)
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const { privateKey } = generateKeyPairSync('ed25519')
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    let created = true
    await writeFile(path, pem, { flag: 'wx', mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
      created = false
    })
    current = parsePrivate(created ? pem : await readFile(path, 'utf8'), path)
    opts.log.warn({ path, kid: current.kid, created },
      'JWT_PRIVATE_KEY_FILE is not set: signing access tokens with a key generated under DATA_DIR; set JWT_PRIVATE_KEY_FILE in production and share it between replicas')
  }

  let next: VerifyingKey | undefined
  if (opts.nextKeyFile !== undefined) {
    const pem = await readKeyFile(opts.nextKeyFile, 'JWT_NEXT_KEY_FILE')
    let pub: KeyObject
    try {
      pub = createPublicKey(pem)
    } catch (err) {
      throw new KeyConfigError(`JWT_NEXT_KEY_FILE is not a PEM key: ${(err as Error).message}`)
    }
    next = verifying(pub, 'JWT_NEXT_KEY_FILE')
    if (next.kid === current.kid) next = undefined
  }

  const byKid = new Map<string, VerifyingKey>([[current.kid, current]])
  if (next !== undefined) byKid.set(next.kid, next)
  return next === undefined ? { current, byKid } : { current, next, byKid }
}

