import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

export const WriterConfig = Type.Object({
  ...env.common,
  PORT: env.port(3002),
  DATABASE_URL: env.DatabaseUrl
})
export type WriterConfig = Static<typeof WriterConfig>
