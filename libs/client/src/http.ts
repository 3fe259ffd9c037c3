import { CODE_OF_STATUS, ContractErrorCode, isErrorCodeOf, type ErrorResponse } from '@metadome/contracts'
import { ChatClientError, type ChatClientErrorCode } from './errors.js'

// JSON over fetch (global in Node 20 and in browsers), errors mapped to
// ChatClientError: a server's `{ error: { code, message } }` keeps its code
// when it is one the SDK knows (the contract's, and auth-api's
// `invalid_credentials`), else the status decides; a connection that never
// got an answer is `unreachable`.

function knownCode (code: string): ChatClientErrorCode | undefined {
  return isErrorCodeOf(ContractErrorCode, code) || code === 'invalid_credentials' ? code : undefined
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  body?: unknown
  token?: string
}

export async function httpJson<T> (req: HttpRequest): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (req.body !== undefined) headers['content-type'] = 'application/json'
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`
  let res: Response
  try {
    res = await fetch(req.url, { method: req.method, headers, ...(req.body !== undefined && { body: JSON.stringify(req.body) }) })
  } catch (err) {
    throw new ChatClientError('unreachable', `cannot reach ${new URL(req.url).origin}`, { cause: err })
  }
  const text = await res.text()
  if (res.ok) return (text === '' ? undefined : JSON.parse(text)) as T
  let code: ChatClientErrorCode = CODE_OF_STATUS[res.status] ?? 'server_error'
  let message = `${req.method} ${new URL(req.url).pathname}: HTTP ${res.status}`
  try {
    const body = JSON.parse(text) as Partial<ErrorResponse>
    const serverCode = body.error?.code?.toLowerCase()
    code = (serverCode === undefined ? undefined : knownCode(serverCode)) ?? code
    if (typeof body.error?.message === 'string') message = body.error.message
  } catch {
    // Not our JSON (a proxy's page): the status decides.
  }
  throw new ChatClientError(code, message, { status: res.status })
}

/** `base` without a trailing slash, joined with `path`. */
export function join (base: string, path: string): string {
  return base.replace(/\/+$/, '') + path
}
