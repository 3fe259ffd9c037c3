import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

export const AuthConfig = Type.Object({
  ...env.common,
  PORT: env.port(3000),
  DATABASE_URL: env.DatabaseUrl
})
export type AuthConfig = Static<typeof AuthConfig>
