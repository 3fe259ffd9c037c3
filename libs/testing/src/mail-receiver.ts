import { SMTPServer } from 'smtp-server'
import type { AddressInfo } from 'node:net'
import { until } from './until.js'
import type { Teardown } from './teardown.js'

// A real SMTP server for auth-api's mails (SMTP_URL), keeping what arrives,
// for the tests of auth-api and of the clients that follow its links. Its own
// entry point (@metadome/testing/mail): only those tests load smtp-server.

export interface ReceivedMail {
  to: string[]
  subject: string
  /** The text part, decoded. */
  text: string
  /** The first http(s) link in the text. */
  link: string
}

export interface MailReceiver {
  /** smtp://127.0.0.1:<port>, for SMTP_URL. */
  url: string
  mails: ReceivedMail[]
  /** Waits until `n` mails arrived in all, and returns the nth. */
  nth: (n: number) => Promise<ReceivedMail>
}

/** Quoted-printable (what nodemailer uses for long lines): soft breaks go, =XX become bytes. */
function decodeQuotedPrintable (s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

function parse (raw: string, to: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ')
  const body = raw.slice(split + 4)
  const header = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? ''
  const encoding = header('Content-Transfer-Encoding').toLowerCase()
  const text = encoding === 'base64'
    ? Buffer.from(body, 'base64').toString('utf8')
    : encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : body
  return { to, subject: header('Subject'), text, link: /https?:\/\/\S+/.exec(text)?.[0] ?? '' }
}

/** A real SMTP server on a free port (smtp-server), keeping what it receives; closed at teardown. */
export async function mailReceiver (t: Teardown): Promise<MailReceiver> {
  const mails: ReceivedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        mails.push(parse(Buffer.concat(chunks).toString('latin1'), session.envelope.rcptTo.map((r) => r.address)))
        callback()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => resolve())) })
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    nth: async (n) => await until(() => mails[n - 1], 10_000, `mail #${n}`)
  }
}
