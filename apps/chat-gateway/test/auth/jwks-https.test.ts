import t from 'tap'
import { readFile } from 'node:fs/promises'
import { CloseCode } from '@metadome/contracts'
import { makeTestCertificates, startAppProcess } from '@metadome/testing'
import { startJwksServer } from '@metadome/e2e'
import { startStack } from '../helpers/stack.js'
import { TestSocket } from '../helpers/ws-client.js'

// AUTH_URL over https, as deploy/ runs it outside one host: the gateway
// fetches the JWKS over TLS and trusts the server's certificate only through
// the CAs it is given (NODE_EXTRA_CA_CERTS here, the system's otherwise).

t.test('the gateway fetches the JWKS over https, trusting only the CAs it is given', async (t) => {
  const s = await startStack(t)
  const certs = await makeTestCertificates(t)
  const jwks = await startJwksServer(t, { https: { key: await readFile(certs.keyFile), cert: await readFile(certs.certFile) } })
  t.match(jwks.url, /^https:/)
  const env = { NATS_URL: s.natsUrl, NATS_NAMESPACE: s.ns, AUTH_URL: jwks.url, LOG_LEVEL: 'warn' }
  const user = await s.user()

  const trusting = await startAppProcess(t, { app: 'chat-gateway', name: 'gateway-trusting', env: { ...env, NODE_EXTRA_CA_CERTS: certs.caFile } })
  const ready = await TestSocket.ready(`${trusting.url.replace('http://', 'ws://')}/v1/ws`, jwks.token(user))
  t.equal(jwks.fetches(), 1, 'the token was checked against the JWKS fetched over https')
  ready.close()

  const untrusting = await startAppProcess(t, { app: 'chat-gateway', name: 'gateway-untrusting', env: { ...env, NODE_EXTRA_CA_CERTS: certs.otherCaFile } })
  const refused = await TestSocket.open(`${untrusting.url.replace('http://', 'ws://')}/v1/ws`, jwks.token(user))
  t.equal((await refused.next('error')).code, 'unavailable', 'a JWKS server whose certificate no trusted CA signed is not believed')
  t.equal(await refused.closed(), CloseCode.tryAgainLater)
  t.equal(jwks.fetches(), 1, 'nothing was fetched from it')
})
