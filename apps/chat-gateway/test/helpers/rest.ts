import { randomUUID } from 'node:crypto'
import type { Stack } from './stack.js'
import type { TestSocket } from './ws-client.js'

/** A REST call to a gateway as `userId` (a fresh token from the stack's JWKS server, unless `token` is given). */
export async function rest<T> (s: Stack, gateway: { url: string }, userId: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number, body: T }> {
  const res = await fetch(gateway.url + path, {
    method,
    headers: { authorization: `Bearer ${token ?? s.jwks.token(userId)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() as T }
}

/** Sends into a conversation and waits for the ack; resolves with its seq. */
export async function say (socket: TestSocket, conversationId: string, body: Record<string, unknown>): Promise<number> {
  const id = randomUUID()
  socket.send({ type: 'send', id, conversationId, body, ref: id })
  return (await socket.next('ack', (a) => a.id === id)).seq
}
