import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BadRequest, Forbidden } from '@metadome/service'
import { AuditPage, AuditQuery } from '@metadome/contracts'
import { listAuditEntries } from '../db/audit.repository.js'
import { callerOf } from './users.js'
import { bearer, errors } from '../schemas/responses.js'

// The cursor is the id of the last entry of the page: ids only grow, so
// "older than it" neither skips nor repeats however many entries arrive.
const encodeCursor = (id: number): string => Buffer.from(String(id), 'utf8').toString('base64url')
const decodeCursor = (cursor: string): number => {
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^[1-9][0-9]{0,14}$/.test(id)) throw new BadRequest('cursor is not one this server gave')
  return Number(id)
}

export const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/admin/audit', {
    onRequest: app.authenticate,
    schema: {
      security: bearer,
      tags: ['admin'],
      summary: 'The audit log, newest first (admins)',
      description: 'Sign-ins and their failures, password, email, MFA and passkey changes, session revocations, role and disabled changes, deletions: who (actorId), whose account (userId), what (action, details), when and from which address. Never a secret, token or hash.',
      querystring: AuditQuery,
      response: { 200: AuditPage, ...errors(400, 401, 403) }
    }
  }, async (request) => {
    if (callerOf(request).role !== 'admin') throw new Forbidden('only admins may read the audit log')
    const { limit = 50, cursor, userId } = request.query
    const rows = await listAuditEntries(app.authDb, {
      limit: limit + 1,
      ...(cursor !== undefined && { before: decodeCursor(cursor) }),
      ...(userId !== undefined && { userId })
    })
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return {
      items: page.map((r) => ({
        id: String(r.id),
        occurredAt: r.occurred_at.toISOString(),
        action: r.action,
        actorId: r.actor_id,
        userId: r.user_id,
        ip: r.ip,
        details: r.details
      })),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null
    }
  })
}
