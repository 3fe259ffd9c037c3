import Type, { type Static } from 'typebox'
import { env } from '@metadome/config'

// What `npm run start -w apps/web` reads (DESIGN.md "Browser client"). The
// page never talks to these addresses itself: the web server serves it and
// forwards /api/auth to WEB_AUTH_URL and /api/gateway to WEB_GATEWAY_URL, so
// the page has one origin (see proxy.ts for why).

const HTTP_URLS = String.raw`https?://[^\s,]+`

export const WebConfig = Type.Object({
  HOST: env.Host,
  PORT: env.port(3003),
  WEB_AUTH_URL: Type.String({
    pattern: `^${HTTP_URLS}$`,
    default: 'http://127.0.0.1:3000',
    description: 'the http(s) URL of auth-api'
  }),
  WEB_GATEWAY_URL: Type.String({
    pattern: `^${HTTP_URLS}(?:,${HTTP_URLS})*$`,
    default: 'http://127.0.0.1:3001',
    description: 'the http(s) URL of a chat-gateway, or several, comma-separated'
  })
})
export type WebConfig = Static<typeof WebConfig>

/** WEB_GATEWAY_URL as a list, each without a trailing slash. */
export function gatewayUpstreams (config: Pick<WebConfig, 'WEB_GATEWAY_URL'>): string[] {
  return config.WEB_GATEWAY_URL.split(',').map((u) => u.replace(/\/+$/, ''))
}
