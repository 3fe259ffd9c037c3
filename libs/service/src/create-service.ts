import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet'
import { natsPlugin, pingNats, type NatsPluginOptions } from '@metadome/nats'
import { errorHandler } from './error-handler.js'
import { metrics } from './metrics.js'
import { health } from './health.js'
import { clientErrorHandler, frameworkErrors } from './framework-errors.js'

export type Service = FastifyInstance

/**
 * Security headers of every answer, errors and 404s included. The APIs
 * answer JSON, which a browser never renders as a page: the CSP allows
 * nothing, and no app may frame it. Cross-Origin-Resource-Policy is
 * `cross-origin`: the APIs authenticate with bearer tokens, not cookies, and
 * a browser client served from another origin calls them (auth-api's CORS
 * says which origins may read its answers; chat-gateway has no CORS).
 * Helmet's other defaults stay: HSTS for a year, nosniff, no referrer, …
 */
const SECURITY_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'cross-origin' },
  xFrameOptions: { action: 'deny' }
}

/**
 * The CSP of the pages a person reads in a browser: Swagger UI at /docs
 * (openapi.ts; its scripts, styles and images come from this origin, it sets
 * inline styles and data: images, and it fetches /docs/json) and
 * chat-gateway's AsyncAPI page at /asyncapi (one inline <style>). No inline
 * script anywhere. No `upgrade-insecure-requests`: operators open /docs on
 * plain http on localhost or behind a TLS proxy.
 */
const PAGE_CSP: FastifyHelmetOptions['contentSecurityPolicy'] = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"]
  }
}

function isPage (url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || url === '/asyncapi'
}

export interface ServiceOptions {
  /** The app's name, in logs, metrics and its NATS connection. */
  name: string
  logger: FastifyBaseLogger
  bodyLimit: number
  trustProxy?: FastifyServerOptions['trustProxy']
  /** How long a client may take to send a request's headers, and all of it (then 408 and closed). */
  http?: { headersTimeoutMs: number, requestTimeoutMs: number }
  nats: Omit<NatsPluginOptions, 'name'>
  /** An app with a database: its plugin, registered before NATS, and the readiness check of it. */
  database?: {
    register: (app: FastifyInstance) => Promise<void>
    ping: (app: FastifyInstance) => Promise<void>
  }
}

/**
 * The skeleton every app is built on, in one order: Fastify with the app's
 * logger; requests checked by TypeBox itself against the schemas of
 * libs/contracts (unknown properties are a 400, bodies are never coerced,
 * query strings and path parameters are converted from text; TypeBox's own
 * formats, not Ajv's, whose uuid takes a "urn:uuid:" prefix); the error
 * handler; the security headers (SECURITY_HEADERS, PAGE_CSP on the pages);
 * metrics (every later plugin reports through them); the
 * database, then NATS (so on close NATS drains before the pool ends, and
 * both outlive the app's own plugins, registered after); then /healthz and
 * /readyz with a check of each; then `register`, where the app adds its own
 * plugins and routes.
 */
export async function createService (opts: ServiceOptions, register: (app: Service) => Promise<void>): Promise<Service> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit,
    // Setting up streams retries for up to a minute while a NATS cluster
    // elects its leaders (libs/nats setup.ts); fastify's 10 s would cut it short.
    pluginTimeout: 90_000,
    frameworkErrors,
    clientErrorHandler,
    ...(opts.http !== undefined && {
      requestTimeout: opts.http.requestTimeoutMs,
      // Node checks the timeouts every connectionsCheckingInterval (30 s by
      // default): a trickle would otherwise live up to that much longer.
      http: { headersTimeout: opts.http.headersTimeoutMs, connectionsCheckingInterval: Math.min(2_000, Math.ceil(opts.http.headersTimeoutMs / 2)) }
    }),
    ...(opts.trustProxy !== undefined && { trustProxy: opts.trustProxy })
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  try {
    await app.register(errorHandler)
    // Before helmet's own onRoute hook, which turns a route's `helmet` option
    // into the config its onRequest hook reads; a route's own option wins.
    app.addHook('onRoute', (route) => {
      if (route.helmet === undefined && isPage(route.url)) route.helmet = { contentSecurityPolicy: PAGE_CSP }
    })
    await app.register(helmet, SECURITY_HEADERS)
    await app.register(metrics, { app: opts.name })
    if (opts.database !== undefined) await opts.database.register(app)
    await app.register(natsPlugin, { ...opts.nats, name: opts.name })
    const ping = opts.database?.ping
    await app.register(health, {
      checks: {
        ...(ping !== undefined && { database: async () => { await ping(app) } }),
        nats: async () => { await pingNats(app.nats.nc) }
      }
    })
    await register(app)
  } catch (err) {
    // A start that fails half way leaves nothing open (a NATS connection, a pool) behind.
    await app.close().catch(() => {})
    throw err
  }
  return app
}
