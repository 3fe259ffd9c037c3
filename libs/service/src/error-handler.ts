import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable'
}

/**
 * The contract's code of an error we raised ourselves, or undefined for one
 * from Fastify or a plugin (FST_…), whose code means nothing to clients.
 * Errors made with defineError carry the contract's code already; one made
 * with bare createError comes upper-cased and leaves in lower case.
 */
function contractCode (err: FastifyError): string | undefined {
  const code = err.code
  if (typeof code !== 'string' || code.startsWith('FST_') || !/^[A-Za-z][A-Za-z_]*$/.test(code)) return undefined
  return code.toLowerCase()
}

/**
 * One shape for every error: `{ error: { code, message } }`. 4xx messages are
 * meant for the caller; a 5xx is logged with its request and shown to the
 * client only as a generic message, never a stack or an internal detail.
 */
export const errorHandler = fp(async function errorHandler (app: FastifyInstance) {
  app.setErrorHandler(function (err: FastifyError, request, reply) {
    const status = err.validation !== undefined ? 400 : (err.statusCode ?? 500)
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
      const code = status === 503 ? 'unavailable' : 'internal'
      const message = status === 503 ? 'service temporarily unavailable' : 'internal server error'
      return reply.code(status).send({ error: { code, message } })
    }
    const code = (err.validation === undefined ? contractCode(err) : undefined) ?? CODE_BY_STATUS[status] ?? 'bad_request'
    request.log.info({ code, status }, 'request rejected')
    return reply.code(status).send({ error: { code, message: err.message } })
  })

  app.setNotFoundHandler(function (request, reply) {
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } })
  })
}, { name: 'metadome-error-handler' })
