import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createMailer, type Mailer } from '../../services/mail.js'

declare module 'fastify' {
  interface FastifyInstance {
    mail: Mailer
  }
}

export interface MailOptions {
  smtpUrl?: string
  from: string
  /** MAIL_TO_LOG: with no smtpUrl, write mails to the log. */
  toLog?: boolean
}

export const mailPlugin = fp(async function mailPlugin (app: FastifyInstance, opts: MailOptions) {
  const mailer = createMailer(opts, app.log.child({ component: 'mail' }))
  app.decorate('mail', mailer)
  app.addHook('onClose', async () => { mailer.close() })
}, { name: 'auth-mail' })
