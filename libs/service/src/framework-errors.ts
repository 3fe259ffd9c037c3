import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { CODE_OF_STATUS } from '@metadome/contracts'

// What Fastify and Node answer before a request reaches a route (a path that
// is not valid percent-encoding, a parameter over maxParamLength, headers
// over Node's limit, a request Node cannot parse) in the contract's shape
// `{ error: { code, message } }`, not theirs. Found by the REST fuzzers.

/** Fastify's `frameworkErrors`: the router's refusals (FST_ERR_BAD_URL 400, FST_ERR_MAX_PARAM_LENGTH 414, …). */
export function frameworkErrors (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode ?? 400
  void reply.code(status).send({ error: { code: CODE_OF_STATUS[status] ?? 'bad_request', message: error.message } })
}

/** Fastify's `clientErrorHandler`: what Node's HTTP parser refuses, answered on the raw socket. */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, message] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'the request took too long']
      : [400, 'Bad Request', 'the request is not valid HTTP']
  const body = JSON.stringify({ error: { code: CODE_OF_STATUS[status] ?? 'bad_request', message } })
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  } else {
    socket.destroy(err)
  }
}
