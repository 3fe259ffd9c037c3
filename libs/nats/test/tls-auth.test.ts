import t from 'tap'
import { spawn } from 'node:child_process'
import { connect as tcpConnect } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { createUser } from '@nats-io/nkeys'
import { freePort, makeTestCertificates, until, tempDir } from '@metadome/testing'
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


// NATS_CREDS_FILE: the client signs the server's nonce with the seed in the
// file. This server knows the user by its nkey alone (no operator mode), so
// the JWT in the file is carried but not checked: what is shown is that the
// apps read the file, sign with it and are refused with another user's seed.
// Operator mode (accounts and user JWTs signed by an operator) is not built
// here.
t.test('an app connects with NATS_CREDS_FILE, and not with the seed of a user the server does not know', async (t) => {
  const user = createUser()
  const stranger = createUser()
  const dir = await tempDir(t, 'mdcreds-')
  const credsFile = async (name: string, seed: Uint8Array): Promise<string> => {
    const file = join(dir, `${name}.creds`)
    const jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2lnbmF0dXJl'
    await writeFile(file, `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(seed)}\n------END USER NKEY SEED------\n`, { mode: 0o600 })
    return file
  }
  const configFile = join(dir, 'nats.conf')
  await writeFile(configFile, `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`)

  const port = await freePort()
  const server = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-c', configFile], { stdio: 'ignore' })
  t.teardown(() => { server.kill('SIGTERM') })
  await until(async () => await new Promise<boolean>((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
    s.on('error', () => { resolve(false) })
  }), 10_000, 'nats-server to listen')
  const attempt = async (env: Record<string, string>): Promise<string> => {
    const nc = await connectNats({ url: `nats://127.0.0.1:${port}`, name: 'creds-test', logger, connectTimeoutMs: 2_000, auth: natsAuth(env) })
    try {
      const sub = nc.subscribe('creds.echo', { max: 1, callback: (_err, msg) => { msg.respond(msg.data) } })
      const reply = await nc.request('creds.echo', 'ping', { timeout: 2_000 })
      sub.unsubscribe()
      return reply.string()
    } finally {
      await nc.close()
    }
  }

  t.equal(await attempt({ NATS_CREDS_FILE: await credsFile('app', user.getSeed()) }), 'ping', 'a request and its reply as the nkey user of the file')
  await t.rejects(attempt({ NATS_CREDS_FILE: await credsFile('stranger', stranger.getSeed()) }), { message: /authorization/i }, 'the seed of another user is refused')
  await t.rejects(attempt({}), { message: /authorization/i }, 'no credentials are refused')
  t.throws(() => natsAuth({ NATS_CREDS_FILE: 'x.creds', NATS_USER: 'u', NATS_PASSWORD: 'p' }), /not both/, 'NATS_CREDS_FILE and NATS_USER together are refused')
})
