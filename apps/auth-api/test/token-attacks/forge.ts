import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { CapturedLogs, Teardown } from '@metadome/testing'
import { build, signUp, type Account } from '../helper.js'

// Hand-made tokens for the attack tests: each file builds a token that must be
// refused and shows that GET /v1/users/me answers 401 to it (and 200 to the
// honest token, so the refusal is about the attack and nothing else).

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function decode (token: string): { header: Record<string, unknown>, payload: Record<string, unknown>, signature: string } {
  const [h = '', p = '', s = ''] = token.split('.')
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>, payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>, signature: s }
}

/** header.payload signed by Ed25519 `key` (EdDSA), as any JWT library would. */
export function signEdDSA (header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

export function signHS256 (header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

export function unsigned (header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64url(header)}.${b64url(payload)}.`
}

export const freshKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey

export interface Target {
  app: FastifyInstance
  logs: CapturedLogs
  victim: Account
  /** The honest token's header and payload, to tamper with. */
  header: Record<string, unknown>
  payload: Record<string, unknown>
  serverKey: KeyObject
  /** Status and error code of GET /v1/users/me with this token. */
  attempt: (token: string) => Promise<{ status: number, code: string | undefined }>
}

export async function target (t: Teardown): Promise<Target> {
  const { app, logs } = await build(t)
  const victim = await signUp(app, 'victim')
  const { header, payload } = decode(victim.accessToken)
  return {
    app,
    logs,
    victim,
    header,
    payload,
    serverKey: createPrivateKey(app.tokens.keys.current.privatePem),
    attempt: async (token) => {
      const res = await app.inject({ url: '/v1/users/me', headers: { authorization: `Bearer ${token}` } })
      return { status: res.statusCode, code: (res.json() as { error?: { code: string } }).error?.code }
    }
  }
}

export const now = (): number => Math.floor(Date.now() / 1000)
