import type { Namespace } from './namespace.js'
import { chatSubjects } from './chat.js'
import { ChatRpcErrorCode, type ChatRpcMethod, type ChatRpcRequest, type ChatRpcResult } from './chat-rpc.js'
import { isErrorCodeOf } from './errors.js'

/**
 * The part of a NATS connection the client needs. A structural type, so this
 * file pulls in no NATS code (the contracts also serve browser clients); a
 * NatsConnection from @nats-io/transport-node fits.
 */
export interface RpcConnection {
  request: (subject: string, payload: string, opts: { timeout: number }) => Promise<{ string: () => string }>
}

/** A failed call, with the code the gateway maps to its own error frame or status. */
export class ChatRpcError extends Error {
  override name = 'ChatRpcError'
  constructor (readonly code: ChatRpcErrorCode, message: string, readonly method: ChatRpcMethod, options?: ErrorOptions) {
    super(message, options)
  }
}

export interface ChatRpcCallOptions {
  /** How long to wait for a writer; default 2000 ms. */
  timeoutMs?: number
}

export interface ChatRpcClient {
  call: <M extends ChatRpcMethod>(method: M, request: ChatRpcRequest<M>, options?: ChatRpcCallOptions) => Promise<ChatRpcResult<M>>
}

/**
 * Calls message-writer over NATS: `await chatRpc(nc, ns).call('users.get', { userId })`.
 * Resolves with the result; throws a ChatRpcError whose `code` is the
 * writer's, or `unavailable` when no writer answered (no responders, timeout,
 * connection closed) or the reply was not an envelope. Results are trusted
 * (the writer validates its own replies in its tests), not re-validated here.
 */
export function chatRpc (nc: RpcConnection, ns: Namespace, defaults: ChatRpcCallOptions = {}): ChatRpcClient {
  const subjects = chatSubjects(ns)
  return {
    async call (method, request, options = {}) {
      const timeout = options.timeoutMs ?? defaults.timeoutMs ?? 2_000
      let text: string
      try {
        const reply = await nc.request(subjects.rpc(method), JSON.stringify(request), { timeout })
        text = reply.string()
      } catch (err) {
        throw new ChatRpcError('unavailable', `message-writer did not answer ${method}: ${err instanceof Error ? err.message : String(err)}`, method, { cause: err })
      }
      let envelope: unknown
      try {
        envelope = JSON.parse(text)
      } catch (err) {
        throw new ChatRpcError('unavailable', `message-writer sent a reply to ${method} that is not JSON`, method, { cause: err })
      }
      if (typeof envelope === 'object' && envelope !== null) {
        const e = envelope as { ok?: unknown, result?: unknown, error?: { code?: unknown, message?: unknown } }
        if (e.ok === true && typeof e.result === 'object' && e.result !== null) {
          return e.result as ChatRpcResult<typeof method>
        }
        if (e.ok === false && typeof e.error?.code === 'string') {
          const code = isErrorCodeOf(ChatRpcErrorCode, e.error.code) ? e.error.code : 'unavailable'
          throw new ChatRpcError(code, typeof e.error.message === 'string' ? e.error.message : e.error.code, method)
        }
      }
      throw new ChatRpcError('unavailable', `message-writer sent a reply to ${method} that is not an envelope`, method)
    }
  }
}
