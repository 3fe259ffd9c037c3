import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Teardown } from './teardown.js'
import { tempDir } from './temp-dir.js'

const run = promisify(execFile)

export interface TestCertificates {
  /** The CA that signed `certFile` (PEM). */
  caFile: string
  /** A server certificate for 127.0.0.1 and localhost, and its key (PEM). */
  certFile: string
  keyFile: string
  /** Another CA, which signed nothing here: trusting it alone must not do. */
  otherCaFile: string
}

/**
 * A CA and a server certificate for loopback, made with openssl in a
 * folder removed at teardown, for tests of TLS between services (NATS over
 * TLS, the JWKS over https). Valid for a day.
 */
export async function makeTestCertificates (t: Teardown): Promise<TestCertificates> {
  const dir = await tempDir(t, 'mdcerts-')
  const file = (name: string): string => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=metadome test CA'])
  await run('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1'])
  await writeFile(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await run('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '1', '-extfile', file('san.ext')])
  await run('openssl', ['req', '-x509', ...ec, '-keyout', file('other.key'), '-out', file('other.pem'), '-days', '1', '-subj', '/CN=another CA'])
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key'), otherCaFile: file('other.pem') }
}
