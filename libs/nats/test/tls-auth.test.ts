import t from 'tap'
import { spawn } from 'node:child_process'
import { connect as tcpConnect } from 'node:net'
import pino from 'pino'
import { freePort, makeTestCertificates, until } from '@metadome/testing'
import { connectNats, natsAuth } from '../src/index.js'

// NATS_TLS_CA_FILE and NATS_USER/NATS_PASSWORD against a real nats-server
// that requires TLS (a certificate from a CA made here) and a password: the
// apps trust the server only through the CA given, and are let in only with
// their credentials.

const logger = pino({ level: 'silent' })

t.test('an app connects over TLS with NATS_TLS_CA_FILE and its credentials, and not without them', async (t) => {
  const certs = await makeTestCertificates(t)

  const port = await freePort()
  const server = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '--tls', '--tlscert', certs.certFile, '--tlskey', certs.keyFile, '--user', 'gateway', '--pass', 'gateway-secret'], { stdio: 'ignore' })
  t.teardown(() => { server.kill('SIGTERM') })
  await until(async () => await new Promise<boolean>((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
    s.on('error', () => { resolve(false) })
  }), 10_000, 'nats-server to listen')
  const url = `tls://127.0.0.1:${port}`
  const attempt = async (env: Record<string, string>): Promise<void> => {
    const nc = await connectNats({ url, name: 'tls-test', logger, connectTimeoutMs: 2_000, auth: natsAuth(env) })
    try {
      const sub = nc.subscribe('tls.echo', { max: 1, callback: (_err, msg) => { msg.respond(msg.data) } })
      const reply = await nc.request('tls.echo', 'ping', { timeout: 2_000 })
      t.equal(reply.string(), 'ping', 'a request and its reply over TLS')
      sub.unsubscribe()
    } finally {
      await nc.close()
    }
  }

  await attempt({ NATS_TLS_CA_FILE: certs.caFile, NATS_USER: 'gateway', NATS_PASSWORD: 'gateway-secret' })
  const untrusted = { message: /certificate/i }
  await t.rejects(attempt({ NATS_TLS_CA_FILE: certs.otherCaFile, NATS_USER: 'gateway', NATS_PASSWORD: 'gateway-secret' }), untrusted, 'a server whose certificate the CA did not sign is refused')
  await t.rejects(attempt({ NATS_USER: 'gateway', NATS_PASSWORD: 'gateway-secret' }), untrusted, 'without NATS_TLS_CA_FILE the server\'s certificate is not trusted')
  await t.rejects(attempt({ NATS_TLS_CA_FILE: certs.caFile, NATS_USER: 'gateway', NATS_PASSWORD: 'wrong' }), { message: /authorization/i }, 'a wrong password is refused')
})
