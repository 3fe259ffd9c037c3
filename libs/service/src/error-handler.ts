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

/** Our own error codes are lower_snake_case; Fastify's are FST_ERR_…. */
const OWN_CODE = /^[a-z][a-z_]*$/

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
    const code = err.validation === undefined && OWN_CODE.test(err.code ?? '')
      ? err.code
      : CODE_BY_STATUS[status] ?? 'bad_request'
    request.log.info({ code, status }, 'request rejected')
    return reply.code(status).send({ error: { code, message: err.message } })
  })

  app.setNotFoundHandler(function (request, reply) {
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } })
  })
}, { name: 'metadome-error-handler' })
