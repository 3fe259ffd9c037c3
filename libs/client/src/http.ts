import type { ErrorResponse } from '@metadome/contracts'
import { ChatClientError, type ChatClientErrorCode } from './errors.js'

// JSON over fetch (global in Node 20 and in browsers), errors mapped to
// ChatClientError: a server's `{ error: { code, message } }` keeps its code,
// a connection that never got an answer is `unreachable`.

const KNOWN_CODES = new Set<string>(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'rate_limited', 'unavailable', 'invalid_credentials'])

const BY_STATUS: Record<number, ChatClientErrorCode> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'too_large', 429: 'rate_limited', 503: 'unavailable'
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
  let code: ChatClientErrorCode = BY_STATUS[res.status] ?? 'server_error'
  let message = `${req.method} ${new URL(req.url).pathname}: HTTP ${res.status}`
  try {
    const body = JSON.parse(text) as Partial<ErrorResponse>
    const serverCode = body.error?.code?.toLowerCase()
    if (serverCode !== undefined && KNOWN_CODES.has(serverCode)) code = serverCode as ChatClientErrorCode
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
