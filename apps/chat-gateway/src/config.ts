import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

export const GatewayConfig = Type.Object({
  ...env.common,
  PORT: env.port(3001),
  AUTH_URL: env.AuthUrl
})
export type GatewayConfig = Static<typeof GatewayConfig>
