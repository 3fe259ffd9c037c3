import type { ChatRpcErrorCode } from '@metadome/contracts'

/**
 * A request refused: the reply is `{ ok: false, error: { code, message } }`
 * with this code and message (rpc/service.ts). The writer answers over NATS,
 * not HTTP, so its handlers throw this, not @metadome/service's HTTP errors;
 * the gateway turns the code into its own status or error frame.
 */
export class RpcError extends Error {
  override name = 'RpcError'
  constructor (readonly code: Exclude<ChatRpcErrorCode, 'unavailable'>, message: string, options?: ErrorOptions) {
    super(message, options)
  }
}
