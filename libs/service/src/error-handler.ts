import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { CODE_OF_STATUS } from '@metadome/contracts'

/** Codes for statuses only Fastify's own errors have; the contract's are CODE_OF_STATUS. */
const FASTIFY_CODE_BY_STATUS: Record<number, string> = {
  405: 'method_not_allowed',
  406: 'not_acceptable',
  415: 'unsupported_media_type'
}

/**
 * The contract's code of an error we raised ourselves, or undefined for one
 * from Fastify or a plugin (FST_…), whose code means nothing to clients.
 * Errors made with defineError carry their code as written; one made with
 * bare createError has it upper-cased by @fastify/error (`USERNAME_TAKEN`),
 * so it leaves in lower case, the contract's spelling.
 */
function contractCode (err: FastifyError): string | undefined {
  const code = err.code
  if (typeof code !== 'string' || code.startsWith('FST_') || !/^[A-Za-z][A-Za-z_]*$/.test(code)) return undefined
  return code.toLowerCase()
}

/**
 * The database is down or restarting rather than the request being wrong:
 * SQLSTATE class 08 (connection exception), 57P01-57P03 (shut down, crash
 * shutdown, cannot connect now), 53300 (too many connections), or the socket
 * itself failing. Clients may retry those: 503, not 500.
 */
export function isDatabaseOutage (err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown, message?: unknown }
  if (typeof code === 'string' && (/^(08|57P0[1-3]$|53300$)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code))) return true
  return typeof message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect)/.test(message)
}

/**
 * One shape for every error: `{ error: { code, message } }`. 4xx messages are
 * meant for the caller; a 5xx is logged with its request and shown to the
 * client only as a generic message, never a stack or an internal detail.
 */
export const errorHandler = fp(async function errorHandler (app: FastifyInstance) {
  app.setErrorHandler(function (err: FastifyError, request, reply) {
    const status = err.validation !== undefined ? 400 : (err.statusCode ?? (isDatabaseOutage(err) ? 503 : 500))
    if (status === 503) void reply.header('retry-after', '1')
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
      const code = status === 503 ? 'unavailable' : 'internal'
      const message = status === 503 ? 'service temporarily unavailable' : 'internal server error'
      return reply.code(status).send({ error: { code, message } })
    }
    const code = (err.validation === undefined ? contractCode(err) : undefined) ?? CODE_OF_STATUS[status] ?? FASTIFY_CODE_BY_STATUS[status] ?? 'bad_request'
    request.log.info({ code, status }, 'request rejected')
    return reply.code(status).send({ error: { code, message: err.message } })
  })

  app.setNotFoundHandler(function (request, reply) {
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } })
  })
}, { name: 'metadome-error-handler' })
