import { Accounts, ChatClient, type KeyStore } from '@metadome/client'
import type { TokenResponse } from '@metadome/contracts'
import { UsageError } from './errors.js'
import { readCode, readPassword } from './password.js'

// The account commands of `metadome` (DESIGN.md "Accounts"): signing in
// with a second factor, TOTP on and off, password recovery by mail, and the
// sessions of the account.

export interface AccountsCommandContext {
  authUrl: string
  store: KeyStore
  userId: string | undefined
  positionals: string[]
  values: { password?: string, code?: string }
}

const CODE_PROMPT = 'code from your authenticator app (or a recovery code): '

/** Signs in with the password, and with a code when the account asks for one; the tokens are kept in `store`. */
export async function signInTokens (authUrl: string, username: string, password: string, code: string | undefined): Promise<TokenResponse> {
  const accounts = new Accounts(authUrl)
  const step = await accounts.login(username, password)
  if (step.kind === 'signed_in') return step.tokens
  return await accounts.completeMfa(step.mfaToken, await readCode(code, CODE_PROMPT))
}

function signedIn (ctx: AccountsCommandContext): string {
  if (ctx.userId === undefined) throw new UsageError('not signed in: run `metadome login <username>` first')
  return ctx.userId
}

const resume = async (ctx: AccountsCommandContext): Promise<Accounts> =>
  await Accounts.resume({ authUrl: ctx.authUrl, keyStore: ctx.store, userId: signedIn(ctx) })

export async function mfa (ctx: AccountsCommandContext): Promise<void> {
  const [sub] = ctx.positionals
  const accounts = await resume(ctx)
  switch (sub) {
    case 'enable': {
      const password = await readPassword(ctx.values.password)
      const { secret, otpauthUrl } = await accounts.enrollTotp(password)
      console.log(`add this account to your authenticator app:\n\n  secret: ${secret}\n  ${otpauthUrl}\n`)
      const codes = await accounts.confirmTotp(await readCode(ctx.values.code, 'then the code it shows: '))
      console.log('two-factor sign-in is on. Recovery codes, each works once (keep them safe; they are not shown again):\n')
      for (const c of codes) console.log(`  ${c}`)
      return
    }
    case 'disable': {
      const password = await readPassword(ctx.values.password)
      await accounts.disableTotp(password, await readCode(ctx.values.code, CODE_PROMPT))
      console.log('two-factor sign-in is off')
      return
    }
    default:
      throw new UsageError('mfa enable|disable')
  }
}

export async function password (ctx: AccountsCommandContext): Promise<void> {
  const [sub, arg] = ctx.positionals
  const accounts = new Accounts(ctx.authUrl)
  switch (sub) {
    case 'forgot': {
      if (arg === undefined || arg === '') throw new UsageError('missing <username|email>')
      await accounts.forgotPassword(arg.includes('@') ? { email: arg } : { username: arg })
      console.log('if that account exists and has an email address, a reset link is on its way (valid 30 minutes)')
      return
    }
    case 'reset': {
      // The token, or the whole link from the mail.
      const token = arg === undefined ? await readCode(undefined, 'token or link from the mail: ') : arg
      const bare = /[?&]token=([A-Za-z0-9_-]+)/.exec(token)?.[1] ?? token
      await accounts.resetPassword(bare, await readPassword(ctx.values.password, { confirm: true }))
      console.log('password changed; every session ended: run `metadome login <username>`')
      return
    }
    default:
      throw new UsageError('password forgot <username|email> | reset <token>')
  }
}

export async function sessions (ctx: AccountsCommandContext, connectOptions: { authUrl: string, gatewayUrl: string[], keyStore: KeyStore }): Promise<void> {
  const [sub, id] = ctx.positionals
  const client = await ChatClient.resume({ ...connectOptions, userId: signedIn(ctx), connect: false })
  try {
    if (sub === 'revoke') {
      if (id === undefined || id === '') throw new UsageError('missing <session-id>')
      await client.endSession(id)
      console.log('session ended; its sockets close')
      return
    }
    if (sub !== undefined) throw new UsageError('sessions [revoke <session-id>]')
    for (const s of await client.sessions()) {
      const where = [s.ip ?? null, s.userAgent].filter((x): x is string => x !== null && x !== undefined).join(', ')
      console.log(`${s.id}  since ${s.createdAt.slice(0, 16).replace('T', ' ')}  last used ${s.lastUsedAt.slice(0, 16).replace('T', ' ')}${where === '' ? '' : `  ${where}`}${s.current ? '  (this device)' : ''}`)
    }
  } finally {
    await client.close()
  }
}
