import { startStack as startFullStack, type AuthStack, type JwksStack, type StackGateway, type Stack as FullStack, type StackOptions } from '@metadome/e2e'
import type { Teardown } from '@metadome/testing'

/** The two gateways the chat tests spread their users over. */
export interface TwoGateways {
  a: StackGateway
  b: StackGateway
}

export type Stack = JwksStack & TwoGateways

/**
 * The full stack (@metadome/e2e) as the gateway's chat tests use it: the real
 * message-writer, two gateways `a` and `b` on one namespace, and a JWKS
 * server in auth-api's place, so a test mints the tokens it needs (s.jwks.token).
 */
export async function startStack (t: Teardown, options: Pick<StackOptions, 'writerEnv' | 'gatewayEnv'> = {}): Promise<Stack> {
  const s = await startFullStack(t, { jwks: true, ...options })
  return { ...s, ...twoOf(s) }
}

/** The same with the real auth-api: its tokens, sessions and user events. */
export async function startStackWithAuthApi (t: Teardown, options: Pick<StackOptions, 'authEnv' | 'gatewayEnv'> = {}): Promise<AuthStack & TwoGateways> {
  const s = await startFullStack(t, options)
  return { ...s, ...twoOf(s) }
}

function twoOf (s: FullStack): TwoGateways {
  const [a, b] = s.gateways
  if (a === undefined || b === undefined) throw new Error('the stack started fewer than two gateways')
  return { a, b }
}
