import createError, { type FastifyError } from '@fastify/error'
import { CODE_OF_STATUS, ContractErrorCode, ERROR_STATUS, isErrorCodeOf, type ErrorCodes } from '@metadome/contracts'

/**
 * createError, keeping the code as the contract spells it: @fastify/error
 * upper-cases every code it is given (`createError('forbidden', …)` makes
 * `FORBIDDEN`), and ours are lower_snake_case, on the wire and wherever an app
 * reads `err.code` itself (errorCodeOf, the CLI, logs).
 */
export function defineError (code: string, message: string, statusCode: number) {
  const Base = createError(code, message, statusCode)
  return class extends Base {
    constructor (...args: unknown[]) {
      super(...args)
      this.code = code
    }
  }
}

// The generic codes of the contract (libs/contracts errors.ts), each with its
// status from there. Tests assert on the code, never on the wording; apps
// define their own specific codes with defineError.
const contractError = (code: ContractErrorCode) => defineError(code, '%s', ERROR_STATUS[code])
export const BadRequest = contractError('bad_request')
export const Unauthorized = contractError('unauthorized')
export const Forbidden = contractError('forbidden')
export const NotFound = contractError('not_found')
export const Conflict = contractError('conflict')
export const TooLarge = contractError('too_large')
export const RateLimited = contractError('rate_limited')
export const Unavailable = contractError('unavailable')

// The one mapping between the three kinds of error that carry a contract
// code: HTTP errors (the classes above, and any Fastify or plugin error with
// a statusCode), RPC errors (ChatRpcError in the gateway, the writer's
// RpcError) and WebSocket error frames. A service that receives one kind and
// answers with another (the gateway turning a writer's reply into a status
// or a frame, the writer turning what a handler threw into a reply) goes
// through httpError and errorCodeOf, never through its own list of codes.

const ERROR_CLASS: Record<ContractErrorCode, ReturnType<typeof defineError>> = {
  bad_request: BadRequest,
  unauthorized: Unauthorized,
  forbidden: Forbidden,
  not_found: NotFound,
  conflict: Conflict,
  too_large: TooLarge,
  rate_limited: RateLimited,
  unavailable: Unavailable
}

/** The HTTP error of a contract code: `httpError('forbidden', 'not a member')` is a Forbidden, a 403. */
export function httpError (code: ContractErrorCode, message: string): FastifyError {
  return new ERROR_CLASS[code](message)
}

/**
 * The contract code of any error, within `codes` (all generic codes unless
 * given a subset: ErrorCode for frames, ChatRpcErrorCode for RPC replies):
 * the error's own code when it is one (defineError's classes, ChatRpcError,
 * RpcError), else `bad_request` for a validation error, else the code of its
 * HTTP status (`bad_request` for another 4xx). Anything else, a 5xx, or a
 * code outside `codes`, is `unavailable`: the caller tries again later and
 * learns nothing of the fault.
 */
export function errorCodeOf (err: unknown): ContractErrorCode
export function errorCodeOf<C extends ContractErrorCode> (err: unknown, codes: ErrorCodes<C>): C | 'unavailable'
export function errorCodeOf (err: unknown, codes: ErrorCodes<ContractErrorCode> = ContractErrorCode): ContractErrorCode {
  const code = codeOf(err)
  return isErrorCodeOf(codes, code) ? code : 'unavailable'
}

function codeOf (err: unknown): ContractErrorCode {
  if (typeof err !== 'object' || err === null) return 'unavailable'
  const { code, statusCode, validation } = err as { code?: unknown, statusCode?: unknown, validation?: unknown }
  if (isErrorCodeOf(ContractErrorCode, code)) return code
  if (validation !== undefined) return 'bad_request'
  if (typeof statusCode !== 'number' || statusCode >= 500) return 'unavailable'
  return CODE_OF_STATUS[statusCode] ?? (statusCode >= 400 ? 'bad_request' : 'unavailable')
}
