import t from 'tap'
import Fastify from 'fastify'
import createError from '@fastify/error'
import { createLogger } from '@metadome/logger'
import { captureLogs } from '@metadome/testing'
import { errorHandler, Conflict, Unavailable } from '@metadome/service'

// Every error leaves as { error: { code, message } } with the contract's
// lower_snake_case code; a 5xx never shows its message to the client.

async function build () {
  const logs = captureLogs()
  const app = Fastify({ loggerInstance: createLogger({ name: 'test', level: 'info', destination: logs.stream }) })
  await app.register(errorHandler)
  const UsernameTaken = createError('username_taken', 'that username is taken', 409)
  app.get('/own', async () => { throw new UsernameTaken() })
  app.get('/generic', async () => { throw new Conflict('already there') })
  app.get('/crash', async () => { throw new Error('connection string postgres://u:secret@db leaked') })
  app.get('/unavailable', async () => { throw new Unavailable('writer timed out at 10.0.0.7') })
  app.get('/db-down', async () => { throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) })
  app.get('/db-refused', async () => { throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }) })
  app.get('/db-data', async () => { throw Object.assign(new Error('duplicate key'), { code: '23505' }) })
  app.post('/validated', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => ({}))
  return { app, logs }
}

t.test('an app error keeps its own code, in lower case', async (t) => {
  const { app } = await build()
  const res = await app.inject('/own')
  t.equal(res.statusCode, 409)
  t.same(res.json(), { error: { code: 'username_taken', message: 'that username is taken' } })
  t.equal((await app.inject('/generic')).json().error.code, 'conflict')
})

t.test('a validation failure is a 400 bad_request naming the field', async (t) => {
  const { app } = await build()
  const res = await app.inject({ method: 'POST', url: '/validated', payload: {} })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error.code, 'bad_request')
  t.match(res.json().error.message, /name/)
})

t.test('a Fastify error is mapped by its status, not by its FST_ code', async (t) => {
  const { app } = await build()
  const res = await app.inject({ method: 'POST', url: '/validated', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error.code, 'bad_request')
  const unsupported = await app.inject({ method: 'POST', url: '/validated', headers: { 'content-type': 'text/x-nope' }, payload: 'x' })
  t.equal(unsupported.statusCode, 415)
  t.equal(unsupported.json().error.code, 'unsupported_media_type')
})

t.test('a 500 shows a generic message and logs the real one', async (t) => {
  const { app, logs } = await build()
  const res = await app.inject('/crash')
  t.equal(res.statusCode, 500)
  t.same(res.json(), { error: { code: 'internal', message: 'internal server error' } })
  t.notMatch(res.body, /secret|postgres/)
  t.ok(logs.lines.some((line) => line.includes('connection string')), 'the cause is in the log for operators')
})

t.test('a 503 is unavailable, without the internal detail', async (t) => {
  const { app } = await build()
  const res = await app.inject('/unavailable')
  t.equal(res.statusCode, 503)
  t.same(res.json(), { error: { code: 'unavailable', message: 'service temporarily unavailable' } })
})

t.test('an unknown route is a 404 not_found', async (t) => {
  const { app } = await build()
  const res = await app.inject('/nowhere?x=1')
  t.equal(res.statusCode, 404)
  t.same(res.json(), { error: { code: 'not_found', message: 'no route GET /nowhere' } })
})

t.test('errors made with defineError carry the contract code in process too', async (t) => {
  t.equal(new Conflict('x').code, 'conflict')
  t.equal(new Conflict('x').statusCode, 409)
  t.type(new Conflict('x'), Error)
})

t.test('a database outage is a 503 unavailable with Retry-After; a query error stays a 500', async (t) => {
  const { app } = await build()
  for (const url of ['/db-down', '/db-refused']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 503, url)
    t.equal(res.headers['retry-after'], '1')
    t.same(res.json(), { error: { code: 'unavailable', message: 'service temporarily unavailable' } })
  }
  const data = await app.inject('/db-data')
  t.equal(data.statusCode, 500)
  t.equal(data.headers['retry-after'], undefined)
})
