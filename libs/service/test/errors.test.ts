import t from 'tap'
import createError from '@fastify/error'
import Fastify from 'fastify'
import { ChatRpcError, ChatRpcErrorCode, ContractErrorCode, ERROR_STATUS, ErrorCode } from '@metadome/contracts'
import { errorCodeOf, errorHandler, httpError, BadRequest, Forbidden, Unavailable } from '@metadome/service'

// One mapping between HTTP errors, RPC errors and error frames: a contract
// code makes the HTTP error of its status, and any error gives back its code.

const every = ContractErrorCode.anyOf.map((literal) => literal.const)

t.test('each contract code makes the error of its status and maps back to itself', async (t) => {
  t.same(every, ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'rate_limited', 'unavailable'])
  for (const code of every) {
    const err = httpError(code, `because ${code}`)
    t.equal(err.code, code, `${code} keeps its lower-case code`)
    t.equal(err.statusCode, ERROR_STATUS[code], `${code} is a ${ERROR_STATUS[code]}`)
    t.equal(err.message, `because ${code}`)
    t.equal(errorCodeOf(err), code)
    t.equal(errorCodeOf({ statusCode: ERROR_STATUS[code] }), code, `a bare ${ERROR_STATUS[code]} is ${code}`)
  }
  t.type(httpError('forbidden', 'x'), Forbidden)
  t.type(httpError('bad_request', 'x'), BadRequest)
})

t.test('an error the contract does not know is unavailable, and a 500 hides it', async (t) => {
  const crash = new Error('connection string postgres://u:secret@db leaked')
  t.equal(errorCodeOf(crash), 'unavailable')
  t.equal(errorCodeOf('a string'), 'unavailable')
  t.equal(errorCodeOf(null), 'unavailable')
  t.equal(errorCodeOf(Object.assign(new Error('x'), { statusCode: 500 })), 'unavailable')
  t.equal(errorCodeOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'unavailable')

  const app = Fastify({ logger: false })
  await app.register(errorHandler)
  app.get('/crash', async () => { throw crash })
  const res = await app.inject('/crash')
  t.equal(res.statusCode, 500)
  t.same(res.json(), { error: { code: 'internal', message: 'internal server error' } })
})

t.test('a ChatRpcError keeps its code, as an HTTP error and as a frame code', async (t) => {
  for (const code of ChatRpcErrorCode.anyOf.map((literal) => literal.const)) {
    const err = new ChatRpcError(code, 'the writer said so', 'conversations.get')
    t.equal(errorCodeOf(err), code)
    t.equal(errorCodeOf(err, ErrorCode), code, `${code} is an error frame code too`)
    t.equal(errorCodeOf(err, ChatRpcErrorCode), code)
    t.equal(httpError(errorCodeOf(err), err.message).statusCode, ERROR_STATUS[code])
  }
})

t.test('Fastify errors map by status, validation errors are bad_request', async (t) => {
  const NoContentType = createError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 'unsupported media type %s', 415)
  t.equal(errorCodeOf(new NoContentType('text/x')), 'bad_request', 'another 4xx is bad_request')
  const Shouting = createError('forbidden', '%s', 403)
  t.equal(new Shouting('x').code, 'FORBIDDEN', '@fastify/error upper-cases codes, which is why defineError exists')
  t.equal(errorCodeOf(new Shouting('x')), 'forbidden', 'its status still says forbidden')
  t.equal(errorCodeOf(Object.assign(new Error('body/name must be string'), { validation: [{}], statusCode: 400 })), 'bad_request')

  const app = Fastify({ logger: false })
  let caught: unknown
  app.setErrorHandler((err, _request, reply) => { caught = err; return reply.code(400).send() })
  app.post('/v', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => ({}))
  await app.inject({ method: 'POST', url: '/v', payload: {} })
  t.equal(errorCodeOf(caught), 'bad_request', 'a real Fastify validation error')
})

t.test('a code outside the subset asked for is unavailable', async (t) => {
  t.equal(errorCodeOf(httpError('conflict', 'x'), ErrorCode), 'unavailable', 'error frames have no conflict')
  t.equal(errorCodeOf(httpError('unauthorized', 'x'), ChatRpcErrorCode), 'unavailable', 'the writer never answers unauthorized')
  t.equal(errorCodeOf(new Unavailable('writer down'), ErrorCode), 'unavailable')
})
