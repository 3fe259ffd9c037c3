import Type, { type Static } from 'typebox'

/** Every REST error body: `{ error: { code, message } }` (DESIGN.md). */
export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'stable, machine-readable error code' }),
    message: Type.String({ description: 'for humans; may change' })
  })
}, { $id: 'ErrorResponse', description: 'An error' })
export type ErrorResponse = Static<typeof ErrorResponse>
