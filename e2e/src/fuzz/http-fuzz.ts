import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { badUtf8, deep, notJson, smallLeaf, tree, write, writeDeep, type Deep, type Repeat, type Tree } from './json-text.js'
import { near, type Hints, type Schema } from './from-schema.js'

// REST requests generated from an app's own OpenAPI document (so a new
// route is fuzzed the day it is added), sent through app.inject for volume
// and over real HTTP (fetch, keep-alive) for a slice, in small concurrent
// batches. A batch is one fast-check run: a failure shrinks to the fewest,
// simplest requests that still fail, and the report carries the seed
// (FUZZ_SEED=<seed> FUZZ_PATH=<path> replays it).
//

export interface Route {
  method: string
  /** OpenAPI's template: /v1/users/{id} */
  template: string
  params: Array<{ name: string, schema: Schema }>
  query: Array<{ name: string, schema: Schema }>
  body: Schema | undefined
  signedIn: boolean
}

interface OpenApiOperation {
  parameters?: Array<{ in: string, name: string, schema: Schema }>
  requestBody?: { content?: Record<string, { schema?: Schema }> }
  security?: unknown[]
}

/** Every operation of an OpenAPI 3 document. */
export function routesOf (doc: { paths: Record<string, Record<string, OpenApiOperation>> }): Route[] {
  return Object.entries(doc.paths).flatMap(([template, ops]) => Object.entries(ops).map(([method, op]) => ({
    method: method.toUpperCase(),
    template,
    params: (op.parameters ?? []).filter((p) => p.in === 'path').map(({ name, schema }) => ({ name, schema })),
    query: (op.parameters ?? []).filter((p) => p.in === 'query').map(({ name, schema }) => ({ name, schema })),
    body: op.requestBody?.content?.['application/json']?.schema,
    signedIn: (op.security ?? []).length > 0
  })).map(printedShort))
}

/** A route prints as `METHOD /template` in counterexamples, not as its schemas. */
export function printedShort (route: Route): Route {
  return Object.assign(route, { [fc.toStringMethod]: () => `${route.method} ${route.template}` })
}

export type Body =
  | { kind: 'none' }
  | { kind: 'json', tree: Tree }
  | { kind: 'text', text: string }
  | { kind: 'bytes', bytes: number[] }
  | { kind: 'deep', deep: Deep }

export type HeaderValue = string | Repeat

export interface FuzzRequest {
  via: 'inject' | 'http'
  method: string
  /** The route it was made from, for the oracle; the url may have strayed from it. */
  route: Route
  url: string
  headers: Record<string, HeaderValue>
  body: Body
}

export interface RequestContext {
  /** Authorization header values: valid tokens of the app's users and garbage (see authorization()). */
  authorization: fc.Arbitrary<string | Repeat>
  hints?: Hints
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'SEARCH']

/** Path segments that trip routers and decoders; sent verbatim. */
const ODD_SEGMENTS = ['', '.', '..', '%2e%2e', '%2F', '%00', '%', '%zz', '%E0%A4%A', '%C0%AF', '__proto__', 'constructor', 'toString', 'me', 'null', 'undefined',
  '%F0%9F%98%80', 'a'.repeat(3_000), '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', 'urn:uuid:00000000-0000-4000-8000-000000000000', '1;2', '*', '%20', '+']

const ODD_QUERIES = ['?', '?&&&', '?=', '?==', '?a', '?%', '?%zz=1', '?%00=%00', '?__proto__[x]=1', '?constructor[prototype][x]=1', '?__proto__=x', '?a[b][c][d]=1', '?limit=1&limit=2',
  '?limit[]=1', '?limit=%EF%BF%BF', '?q=%E0%A4%A', '?;', '?+=+', `?x=${'y'.repeat(8_000)}`, '?limit=1e2', '?limit=0x10', '?limit= 1', '?limit=-0', '?limit=Infinity', '?limit=']

/** How the path and the route's template may differ: a trailing slash, doubled slashes, case, a dot segment. */
const PATH_TWISTS: Array<(p: string) => string> = [
  (p) => p, (p) => `${p}/`, (p) => p.replace('/v1/', '//v1/'), (p) => p.toUpperCase(), (p) => `${p}/..`, (p) => p.replace('/v1/', '/v1/./'), (p) => `${p}%2F`, (p) => `/v2${p.slice(3)}`, (p) => `${p};x=1`
]

export const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16le', 'application/json;charset=latin1', 'APPLICATION/JSON',
  'application/jsonp', 'application/vnd.api+json', 'text/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream',
  ';', 'application/json; boundary=', '*/*', 'application/json, text/plain', 'json', 'application/json; charset=', 'application/json;;']

/** Header values: printable ASCII and Latin-1, the bytes fetch and HTTP allow. */
export const headerText = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 60 })
  .map((s) => s.trim())

const HEADER_NAMES = ['x-forwarded-for', 'x-real-ip', 'forwarded', 'origin', 'accept', 'accept-encoding', 'accept-language', 'user-agent', 'cookie', 'x-http-method-override',
  'if-none-match', 'if-modified-since', 'range', 'referer', 'x-request-id', 'access-control-request-method', 'content-encoding', 'authorization2', 'x-metadome-user']

const headerValue: fc.Arbitrary<HeaderValue> = fc.oneof(
  { weight: 5, arbitrary: headerText },
  { weight: 1, arbitrary: fc.constantFrom('gzip', 'br, deflate', '127.0.0.1, 10.0.0.1', '::1', 'for="[::1]";proto=https', 'bytes=0-0', 'null', '*', '', 'POST', 'DELETE') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 15_000 }).map((count): Repeat => ({ $repeat: { unit: 'h', count } })) }
)

const b64 = (text: string): string => Buffer.from(text).toString('base64url')

/**
 * Authorization values that are not a valid token of the app: no scheme,
 * another scheme, JWT-shaped with odd headers and claims (alg none, a kid of
 * "__proto__", exp as text), tokens of the app mangled (`mangle`: a real
 * token whose bytes may be flipped), and huge ones.
 */
export function badAuthorization (realTokens: readonly string[]): fc.Arbitrary<string | Repeat> {
  const claim = tree(['sub', 'sid', 'iss', 'aud', 'exp', 'iat', 'nbf', 'role'], smallLeaf)
  const jwtHeader = fc.oneof(
    fc.record({ alg: fc.constantFrom('none', 'None', 'HS256', 'RS256', 'ES256', 'EdDSA', ''), kid: fc.constantFrom('__proto__', 'constructor', 'toString', '', '0', '../key') }).map((h) => ({ $entries: Object.entries(h) }) as Tree),
    tree(['alg', 'kid', 'typ', 'crit', 'jku', 'jwk', 'x5u'], smallLeaf)
  )
  const jwtLike = fc.tuple(jwtHeader, claim, fc.oneof(fc.constant(''), fc.base64String({ maxLength: 90 }).map((s) => s.replaceAll('=', ''))))
    .map(([h, p, s]) => `Bearer ${b64(write(h))}.${b64(write(p))}.${s}`)
  const mangled = realTokens.length === 0
    ? []
    : [fc.tuple(fc.constantFrom(...realTokens), fc.nat(), fc.constantFrom('flip', 'cut', 'append', 'dots', 'case', 'space', 'scheme'))
        .map(([token, at, how]) => {
          const i = at % token.length
          // The last character of a base64url segment may carry only padding
          // bits: A and B there can decode to the same bytes, the same valid
          // token. One before it always changes a byte.
          const f = i > 0 && (i === token.length - 1 || token[i + 1] === '.') ? i - 1 : i
          switch (how) {
            case 'flip': return `Bearer ${token.slice(0, f)}${token[f] === 'A' ? 'B' : 'A'}${token.slice(f + 1)}`
            case 'cut': return `Bearer ${token.slice(0, i)}`
            case 'append': return `Bearer ${token}.x`
            case 'dots': return `Bearer ${token.split('.').slice(0, 2).join('.')}.`
            case 'case': return `bEaReR ${token}`
            case 'space': return `Bearer  ${token} extra`
            default: return `Basic ${token}`
          }
        })]
  return fc.oneof(
    fc.constantFrom('', 'Bearer', 'Bearer ', 'Bearer null', 'Bearer undefined', 'Basic YWxpY2U6cGFzc3dvcmQ=', 'Bearer a.b.c', 'Bearer ...', 'Token abc', 'Bearer\teyJ', 'Bearer eyJ.eyJ.'),
    headerText.map((s) => `Bearer ${s}`),
    jwtLike,
    ...mangled,
    fc.integer({ min: 1_000, max: 20_000 }).map((count): Repeat => ({ $repeat: { unit: 'A', count } }))
  )
}

function body (route: Route, hints: Hints): fc.Arbitrary<Body> {
  const schema = route.body ?? { type: 'object', properties: {} }
  const names = Object.keys(schema.properties ?? {})
  return fc.oneof(
    { weight: route.body === undefined ? 1 : 10, arbitrary: near(schema, hints).map((t): Body => ({ kind: 'json', tree: t })) },
    { weight: 3, arbitrary: tree(names).map((t): Body => ({ kind: 'json', tree: t })) },
    { weight: 2, arbitrary: fc.json().map((text): Body => ({ kind: 'text', text })) },
    { weight: 2, arbitrary: notJson.map((text): Body => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: badUtf8.map((bytes): Body => ({ kind: 'bytes', bytes })) },
    { weight: 1, arbitrary: deep.map((d): Body => ({ kind: 'deep', deep: d })) },
    { weight: route.body === undefined ? 6 : 1, arbitrary: fc.constant<Body>({ kind: 'none' }) }
  )
}

/** encodeURIComponent, which throws on a lone surrogate: that becomes U+FFFD, as any UTF-8 encoder writes it. */
const enc = (s: string): string => encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'))

const asQueryValue = (t: Tree): string => typeof t === 'string' ? enc(t) : typeof t === 'number' || typeof t === 'boolean' || t === null ? String(t) : enc(write(t))

function query (route: Route, hints: Hints): fc.Arbitrary<string> {
  const known = route.query.map(({ name, schema }) => near(schema, hints, name).map((v) => Array.isArray(v)
    ? v.map((item) => `${name}=${asQueryValue(item)}`).join('&')
    : `${name}=${asQueryValue(v)}`))
  const pieces = fc.array(fc.oneof(...known, fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 })).map(([k, v]) => `${enc(k)}=${enc(v)}`)), { maxLength: 4 })
  return fc.oneof(
    { weight: 6, arbitrary: pieces.map((p) => p.length === 0 ? '' : `?${p.join('&')}`) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_QUERIES) }
  )
}

function path (route: Route, hints: Hints): fc.Arbitrary<string> {
  const params = route.params.map(({ name, schema }) => fc.oneof(
    { weight: 5, arbitrary: near(schema, hints, name).map((v) => asQueryValue(v)) },
    { weight: 2, arbitrary: fc.constantFrom(...ODD_SEGMENTS) }
  ).map((value) => [name, value] as const))
  return fc.tuple(fc.tuple(...params), fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(PATH_TWISTS.length - 1) }))
    .map(([values, twist]) => (PATH_TWISTS[twist] as (p: string) => string)(values.reduce((p, [name, value]) => p.replace(`{${name}}`, value), route.template)))
}

/** A request aimed at one of `routes`, with everything about it now and then wrong. */
export function request (routes: readonly Route[], ctx: RequestContext): fc.Arbitrary<FuzzRequest> {
  const hints = ctx.hints ?? {}
  // One arbitrary per route, built once (building them is the costly part),
  // the operators' routes drawn less often than the API's.
  return fc.oneof(...routes.map((route) => ({ weight: route.signedIn || route.body !== undefined || route.params.length > 0 ? 4 : 1, arbitrary: requestTo(route, ctx.authorization, hints) })))
}

function requestTo (route: Route, authorization: RequestContext['authorization'], hints: Hints): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    via: fc.oneof({ weight: 4, arbitrary: fc.constant<'inject'>('inject') }, { weight: 1, arbitrary: fc.constant<'http'>('http') }),
    method: fc.oneof({ weight: 10, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    route: fc.constant(route),
    url: fc.tuple(path(route, hints), query(route, hints)).map(([p, q]) => p + q),
    authorization: fc.option(authorization, { freq: route.signedIn ? 8 : 2 }),
    contentType: fc.option(fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: headerText }), { freq: 8 }),
    extra: fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), headerValue), { maxLength: 3 }),
    body: body(route, hints)
  }).map(({ via, method, route, url, authorization, contentType, extra, body }) => {
    const headers: Record<string, HeaderValue> = Object.fromEntries(extra)
    if (authorization !== null) headers.authorization = authorization
    if (contentType !== null && body.kind !== 'none') headers['content-type'] = contentType
    // Past Node's 16 KiB of headers the server answers 431 and closes at
    // once, and fetch often reads the reset rather than the answer: huge
    // headers (and URLs, which count with them) go in process here, and past
    // the limit in raw-http.ts.
    const size = Object.values(headers).reduce((n, v) => n + (typeof v === 'string' ? v.length : v.$repeat.count), url.length)
    return { via: size > 12_000 ? 'inject' : via, method, route, url, headers, body }
  })
}

const headerString = (v: HeaderValue): string => typeof v === 'string' ? v : v.$repeat.unit.repeat(v.$repeat.count)

export function payloadOf (b: Body): Buffer | undefined {
  switch (b.kind) {
    case 'none': return undefined
    case 'json': return Buffer.from(write(b.tree))
    case 'text': return Buffer.from(b.text)
    case 'bytes': return Buffer.from(b.bytes)
    case 'deep': return Buffer.from(writeDeep(b.deep))
  }
}

export interface Answer {
  /** 0: no answer (the connection failed, or no answer within the timeout). */
  status: number
  contentType: string
  text: string
  error?: string
}

const TIMEOUT_MS = 15_000

async function withTimeout<T> (p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer within ${TIMEOUT_MS} ms`)) }, TIMEOUT_MS) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Sends `r` to the app, in process or to `baseUrl` over HTTP, as `r.via` says. */
export async function send (app: FastifyInstance, baseUrl: string, r: FuzzRequest): Promise<Answer> {
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, headerString(v)]))
  const payload = payloadOf(r.body)
  try {
    if (r.via === 'inject') {
      const res = await withTimeout(app.inject({ method: r.method as 'GET', url: r.url, headers, ...(payload !== undefined && { payload }) }), 'inject')
      return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: res.body }
    }
    const withBody = payload !== undefined && r.method !== 'GET' && r.method !== 'HEAD'
    const once = async (): Promise<Answer> => {
      const res = await fetch(baseUrl + r.url, { method: r.method, headers, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS), ...(withBody && { body: payload }) })
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() }
    }
    try {
      return await once()
    } catch (err) {
      // A kept-alive connection the server closed as fetch reused it: the
      // request never reached a handler. Once more, on a new connection.
      if (!/other side closed|ECONNRESET|socket hang up/.test(messageOf(err))) throw err
      transport.retried++
      return await once()
    }
  } catch (err) {
    return { status: 0, contentType: '', text: '', error: messageOf(err) }
  }
}

/** How often a request over HTTP was sent twice because its kept-alive connection had been closed. */
export const transport = { retried: 0 }

const messageOf = (err: unknown): string => {
  const cause = (err as Error).cause as Error | undefined
  return `${(err as Error).message}${cause?.message === undefined ? '' : ` (${cause.message})`}`
}

/** What is wrong with a 4xx answer's body, if anything: the contract's `{ error: { code, message } }`. */
export function errorShapeProblem (method: string, a: Answer): string | undefined {
  if (method === 'HEAD') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(a.text)
  } catch {
    return `a ${a.status} whose body is not JSON: ${a.text.slice(0, 120)}`
  }
  const error = (parsed as { error?: { code?: unknown, message?: unknown } } | null)?.error
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return `a ${a.status} without { error: { code, message } }: ${a.text.slice(0, 120)}`
  return undefined
}

/** A one-line description of a request, for failure messages (the counterexample itself is printed by fast-check). */
export function describe (r: FuzzRequest): string {
  const p = payloadOf(r.body)
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${typeof v === 'string' ? v.slice(0, 80) : `<${v.$repeat.count}×${v.$repeat.unit}>`}`).join('; ')
  return `${r.via} ${r.method} ${r.url.slice(0, 200)} [${headers}] body ${p === undefined ? 'none' : `${p.length} bytes: ${p.subarray(0, 160).toString('utf8')}`}`
}

export interface FuzzOptions {
  numRuns: number
  /** Requests sent at once; a run is one batch of 1 to this many. */
  batch: number
}

/**
 * Runs `property` over batches of `arb`, concurrently within a batch, and
 * fails `t` with fast-check's report (seed, path, shrunk counterexample).
 * `check` answers what is wrong with one request's outcome, if anything.
 */
export async function fuzz<R> (t: Test, name: string, arb: fc.Arbitrary<R>, options: FuzzOptions, check: (r: R) => Promise<string | undefined>): Promise<void> {
  const property = fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: options.batch, size: 'max' }), async (batch) => {
    const problems = (await Promise.all(batch.map(check))).filter((p): p is string => p !== undefined)
    if (problems.length > 0) throw new Error(problems.join('\n'))
  })
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
  const details = await fc.check(property, {
    numRuns: options.numRuns,
    ...(seed !== undefined && { seed }),
    ...(process.env.FUZZ_PATH !== undefined && { path: process.env.FUZZ_PATH }),
    // Every run is made whatever the machine's speed (a time limit cut the
    // volume the test asserts on a busy machine). A shrink re-sends requests
    // for minutes, so a failure reports its seed and path at once; replaying
    // it (FUZZ_SEED) shrinks.
    endOnFailure: seed === undefined,
    includeErrorInReport: true
  })
  if (details.failed) t.fail(`${name}\n${fc.defaultReportMessage(details)}`)
  else t.pass(`${name}: ${details.numRuns} batches (seed ${details.seed})`)
}

/**
 * The heap after a full collection. `--expose-gc` is not among tap's node
 * arguments (.taprc), so the flag is set at run time and `gc` taken from a
 * fresh context, where V8 then installs it.
 */
export async function settledHeap (): Promise<number> {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    gc()
  }
  return process.memoryUsage().heapUsed
}
