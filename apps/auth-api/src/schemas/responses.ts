import Type from 'typebox'
import { ErrorResponse } from '@metadome/contracts'

/** The error responses a route declares, all in the contract's one shape. */
export function errors (...statuses: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponse]))
}

export const NoContent = Type.Null({ description: 'no content' })

/** 202: the work (a mail) goes on after the answer. */
export const Accepted = Type.Object({}, { additionalProperties: false, description: 'accepted' })

/** Routes that need a signed-in caller. */
/** The security requirement of a signed-in route (the scheme every app's document names `bearer`). */
export { bearerSecurity as bearer } from '@metadome/service'
