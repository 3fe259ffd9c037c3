import Type, { type Static, type TLiteral, type TUnion } from 'typebox'

// The error vocabulary of the contract (DESIGN.md "Error codes"), written
// once: GENERIC below, each code with its HTTP status. Every set of codes is a
// TypeBox union of those literals: ContractErrorCode (all of them) and the
// subsets made with errorCodes(), ErrorCode (WebSocket error frames,
// frames.ts) and ChatRpcErrorCode (message-writer's replies, chat-rpc.ts).
// @metadome/service maps errors to and from them (httpError, errorCodeOf);
// the SDK reads servers' errors with them. Apps add specific codes of their
// own (auth-api's `username_taken`), each with the status of a generic one.

/** The generic codes, each with the HTTP status it is answered with. */
const GENERIC = [
  ['bad_request', 400],
  ['unauthorized', 401],
  ['forbidden', 403],
  ['not_found', 404],
  ['conflict', 409],
  ['too_large', 413],
  ['rate_limited', 429],
  ['unavailable', 503]
] as const
type Generic = typeof GENERIC
type LiteralsOf<G extends ReadonlyArray<readonly [string, number]>> = { -readonly [K in keyof G]: G[K] extends readonly [infer C extends string, number] ? TLiteral<C> : never }

/** Every generic code. */
export const ContractErrorCode = Type.Union(GENERIC.map(([code]) => Type.Literal(code))) as unknown as TUnion<LiteralsOf<Generic>>
export type ContractErrorCode = Static<typeof ContractErrorCode>

/** The HTTP status of each generic code. */
export const ERROR_STATUS = Object.fromEntries(GENERIC) as { readonly [G in Generic[number] as G[0]]: G[1] }

/** The generic code of an HTTP status, if it has one. */
export const CODE_OF_STATUS: Readonly<Partial<Record<number, ContractErrorCode>>> =
  Object.fromEntries(GENERIC.map(([code, status]) => [status, code]))

type Literals<C extends ContractErrorCode[]> = { [K in keyof C]: TLiteral<C[K]> }

/** A subset of the generic codes as a union of their literals, as a schema (`{ anyOf: [{ const }] }`). */
export function errorCodes<const C extends ContractErrorCode[]> (...codes: C): TUnion<Literals<C>> {
  return Type.Union(codes.map((code) => Type.Literal(code))) as unknown as TUnion<Literals<C>>
}

/** ContractErrorCode or a subset made by errorCodes, as a parameter type. */
export type ErrorCodes<C extends ContractErrorCode> = TUnion<Array<TLiteral<C>>>

/** Whether `value` is one of the codes of `union`. */
export function isErrorCodeOf<C extends ContractErrorCode> (union: ErrorCodes<C>, value: unknown): value is C {
  return union.anyOf.some((literal) => literal.const === value)
}

/** Every REST error body: `{ error: { code, message } }` (DESIGN.md). */
export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'stable, machine-readable error code' }),
    message: Type.String({ description: 'for humans; may change' })
  })
}, { $id: 'ErrorResponse', description: 'An error' })
export type ErrorResponse = Static<typeof ErrorResponse>
