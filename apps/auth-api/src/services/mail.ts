import nodemailer, { type Transporter } from 'nodemailer'
import type { FastifyBaseLogger } from 'fastify'

export interface Mail {
  to: string
  subject: string
  text: string
}

export interface Mailer {
  send: (mail: Mail) => Promise<void>
  close: () => void
}

/**
 * Mail over SMTP_URL. With it unset, mails are not sent: with `toLog`
 * (MAIL_TO_LOG, which `npm start` sets) each is written to the log, its
 * link's token included on purpose, so a person on one machine can follow
 * it; otherwise only that a mail was dropped. With SMTP configured nothing
 * of a mail is logged but its subject.
 */
export function createMailer (opts: { smtpUrl?: string, from: string, toLog?: boolean }, log: FastifyBaseLogger): Mailer {
  if (opts.smtpUrl === undefined) {
    if (opts.toLog !== true) {
      log.warn('SMTP_URL is unset: mails (verification, password reset) are not sent')
      return {
        send: async (mail) => { log.warn({ subject: mail.subject }, 'mail not sent: SMTP_URL is unset') },
        close: () => {}
      }
    }
    log.warn('SMTP_URL is unset: mails are written to this log instead of being sent (MAIL_TO_LOG=true)')
    return {
      send: async (mail) => { log.info({ to: mail.to, subject: mail.subject }, `mail (not sent: SMTP_URL is unset)\n\n${mail.text}`) },
      close: () => {}
    }
  }
  const transport: Transporter = nodemailer.createTransport(opts.smtpUrl)
  return {
    send: async (mail) => {
      await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text })
      log.info({ subject: mail.subject }, 'mail sent')
    },
    close: () => { transport.close() }
  }
}

// The mails, in plain text. Links point at the browser client (PUBLIC_URL),
// which hands the token to auth-api.

export function verifyEmailMail (to: string, username: string, link: string): Mail {
  return {
    to,
    subject: 'Confirm your email address for metadome',
    text: `Hello ${username},\n\nTo confirm that ${to} is your address on metadome, open this link within 24 hours:\n\n${link}\n\nIf you did not ask for this, ignore this mail.\n`
  }
}

export function resetPasswordMail (to: string, username: string, link: string): Mail {
  return {
    to,
    subject: 'Reset your metadome password',
    text: `Hello ${username},\n\nSomeone (we hope you) asked to reset the password of your metadome account. To choose a new one, open this link within 30 minutes:\n\n${link}\n\nThe link works once; a newer request replaces it. Resetting signs out every device.\nIf you did not ask for this, ignore this mail: your password stays as it is.\n`
  }
}

/** `base` (PUBLIC_URL) + `path` + `?token=`. */
export function linkTo (base: string, path: string, token: string): string {
  return `${base.replace(/\/+$/, '')}${path}?token=${encodeURIComponent(token)}`
}
