import t from 'tap'
import { build } from '../../helper.js'

t.test('/openapi.json documents every route of the contract, errors included, generated from the schemas', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/openapi.json')
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.openapi, '3.1.0')
  const expected: Array<[string, string, string[]]> = [
    ['/v1/users', 'post', ['201', '400', '409', '413', '429']],
    ['/v1/users', 'get', ['200', '400', '401']],
    ['/v1/users/me', 'get', ['200', '401', '404']],
    ['/v1/users/{id}', 'get', ['200', '400', '401', '404']],
    ['/v1/users/{id}', 'patch', ['200', '400', '401', '403', '404', '409', '413', '429']],
    ['/v1/users/{id}', 'delete', ['204', '400', '401', '403', '404', '429']],
    ['/v1/auth/login', 'post', ['200', '400', '401', '403', '413', '429']],
    ['/v1/auth/refresh', 'post', ['200', '400', '401', '413', '429']],
    ['/v1/auth/logout', 'post', ['204', '400', '413']],
    ['/v1/auth/sessions', 'get', ['200', '401']],
    ['/v1/auth/sessions/{id}', 'delete', ['204', '400', '401', '404']],
    ['/v1/users/me/keys', 'put', ['200', '400', '401', '403', '409', '413', '429']],
    ['/v1/users/{id}/keys', 'get', ['200', '400', '401', '404']],
    ['/.well-known/jwks.json', 'get', ['200']],
    ['/v1/admin/audit', 'get', ['200', '400', '401', '403']],
    ['/v1/auth/email/verify-request', 'post', ['202', '400', '401', '429']],
    ['/v1/auth/email/verify', 'post', ['204', '400', '413', '429']],
    ['/v1/auth/password/forgot', 'post', ['202', '400', '413', '429']],
    ['/v1/auth/password/reset', 'post', ['204', '400', '403', '413', '429']],
    ['/v1/auth/mfa/totp/enroll', 'post', ['200', '400', '401', '403', '409', '413', '429']],
    ['/v1/auth/mfa/totp/confirm', 'post', ['200', '400', '401', '403', '409', '413', '429']],
    ['/v1/auth/mfa/totp', 'delete', ['204', '400', '401', '403', '409', '413', '429']],
    ['/v1/auth/passkeys/register-options', 'post', ['200', '401', '429']],
    ['/v1/auth/passkeys/register', 'post', ['201', '400', '401', '409', '413', '429']],
    ['/v1/auth/passkeys', 'get', ['200', '401']],
    ['/v1/auth/passkeys/{id}', 'patch', ['200', '400', '401', '404', '413']],
    ['/v1/auth/passkeys/{id}', 'delete', ['204', '400', '401', '404']],
    ['/v1/auth/passkeys/login-options', 'post', ['200', '429']],
    ['/v1/auth/passkeys/login', 'post', ['200', '400', '401', '403', '413', '429']]
  ]
  for (const [path, method, statuses] of expected) {
    const op = doc.paths[path]?.[method]
    t.ok(op, `${method.toUpperCase()} ${path}`)
    t.same(Object.keys(op?.responses ?? {}).sort(), statuses.sort(), `${method.toUpperCase()} ${path} responses`)
  }
  const error = doc.paths['/v1/auth/login'].post.responses['401'].content['application/json'].schema
  t.match(error, { properties: { error: { properties: { code: { type: 'string' }, message: { type: 'string' } } } } })
  t.match(doc.paths['/v1/auth/login'].post.responses['401'].content['application/json'].schema, { properties: { mfaToken: { type: 'string' } } }, 'mfa_required carries the mfaToken')
  t.same(doc.paths['/v1/users/me'].get.security, [{ bearer: [] }], 'the one scheme name every app uses')
  t.equal(doc.paths['/v1/users'].post.requestBody.content['application/json'].schema.additionalProperties, false)
  t.notOk(doc.paths['/openapi.json'], 'the document itself is not listed')
})

t.test('/docs serves a browsable UI of the same document', async (t) => {
  const { app } = await build(t)
  const res = await app.inject('/docs')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /swagger/i)
  const json = await app.inject('/docs/json')
  t.equal(json.statusCode, 200)
})
