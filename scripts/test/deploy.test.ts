import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, parseAllDocuments } from 'yaml'
import type { TObject } from 'typebox'
import { AuthConfig } from '@metadome/auth-api/config'
import { GatewayConfig, checkAuthUrl } from '@metadome/chat-gateway/config'
import { loadConfig } from '@metadome/config'
import { WriterConfig } from '@metadome/message-writer/config'
import { WebConfig } from '@metadome/web/config'
import { WRITER_NODE_ARGS } from '../../bench/writer-node-args.js'

// A static test of deploy/: no Docker engine or cluster runs here, so the
// compose file, the Kubernetes manifests and the Dockerfile are read as data
// and held to what the apps and DESIGN.md "Operating it" need. The tools that
// can check more (kubectl kustomize, docker compose config) run when present.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const deploy = join(root, 'deploy')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

// The variables each app reads, taken from its schema at test time: other
// engineers add variables, and the deployment may only set names that exist.
const APPS = {
  'auth-api': { schema: AuthConfig, port: 3000, database: true },
  'chat-gateway': { schema: GatewayConfig, port: 3001, database: false },
  'message-writer': { schema: WriterConfig, port: 3002, database: true }
} as const satisfies Record<string, { schema: TObject, port: number, database: boolean }>
type AppName = keyof typeof APPS
const appNames = Object.keys(APPS) as AppName[]
const isApp = (name: string | undefined): name is AppName => name !== undefined && name in APPS
const variablesOf = (app: AppName): Set<string> => new Set(Object.keys(APPS[app].schema.properties))

/** Host names of a NATS_URL such as nats://a:4222,nats://b:4222, checking the port. */
function natsHosts (t: Test, url: string | undefined, where: string): string[] {
  t.type(url, 'string', `${where}: NATS_URL is set`)
  return (url ?? '').split(',').map((server) => {
    const { hostname, port, protocol } = new URL(server)
    t.equal(protocol, 'nats:', `${where}: ${server} is a nats:// URL`)
    t.equal(port, '4222', `${where}: ${server} is the client port`)
    return hostname
  })
}

// --- Dockerfile ----------------------------------------------------------------

interface Instruction { op: string, args: string }
interface Stage { name: string, from: string, instructions: Instruction[] }

function parseDockerfile (text: string): Stage[] {
  const args = new Map<string, string>()
  const stages: Stage[] = []
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  for (const line of logical) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const instruction = { op: op.toUpperCase(), args: rest }
    if (instruction.op === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = rest.split('=')
      args.set(name, value)
    } else if (instruction.op === 'FROM') {
      const from = rest.replace(/\$\{(\w+)\}/g, (_match, name: string) => args.get(name) ?? '')
      const [, image = '', name = ''] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(from) ?? []
      stages.push({ name, from: image, instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** The stage and every stage it is built FROM, base first. */
function chain (stages: Stage[], name: string): Stage[] {
  const stage = stages.find((s) => s.name === name)
  if (stage === undefined) return []
  return [...chain(stages, stage.from), stage]
}

t.test('Dockerfile: one target per app, Node 24, non-root, production dependencies only', async (t) => {
  const stages = parseDockerfile(read('deploy/Dockerfile'))
  const all = stages.flatMap((s) => s.instructions)
  t.notOk(all.some((i) => i.op === 'HEALTHCHECK'), 'no HEALTHCHECK: orchestrators probe /healthz and /readyz')

  const build = stages.find((s) => s.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args) && !i.args.includes('--omit=dev')))
  t.ok(build, 'a build stage installs every dependency with npm ci')
  t.ok(stages.some((s) => s.instructions.some((i) => i.op === 'RUN' && /\btsc -b\b|npm run build/.test(i.args))), 'the build compiles with tsc -b')

  // The browser client's server is built and run like the others.
  for (const app of [...appNames, 'web']) {
    const targetChain = chain(stages, app)
    t.ok(targetChain.length > 0, `a target named ${app}`)
    const base = targetChain[0]?.from ?? ''
    t.match(base, /^node:24([.-]|$)/, `${app} runs on Node 24 (${base})`)
    const instructions = targetChain.flatMap((s) => s.instructions)
    const user = instructions.filter((i) => i.op === 'USER').at(-1)?.args
    t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `${app} runs as a non-root USER (${user ?? 'none'})`)
    t.equal(instructions.filter((i) => i.op === 'STOPSIGNAL').at(-1)?.args, 'SIGTERM', `${app} stops with SIGTERM, which it drains on`)
    t.match(instructions.filter((i) => i.op === 'CMD').at(-1)?.args ?? '', `apps/${app}/dist/server.js`, `${app} starts its built server`)
    t.notOk(instructions.some((i) => i.op === 'RUN' && /\bnpm (ci|install)\b/.test(i.args)), `${app}: nothing installed in the final image itself`)

    // node_modules must come from a stage that installed with --omit=dev.
    const copies = instructions.filter((i) => i.op === 'COPY' && /node_modules/.test(i.args))
    t.ok(copies.length > 0, `${app} copies node_modules from another stage`)
    for (const copy of copies) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1] ?? ''
      const source = chain(stages, from).flatMap((s) => s.instructions).filter((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args)).at(-1)
      t.match(source?.args ?? '', /--omit=dev/, `${app}: node_modules of stage ${from} hold production dependencies only`)
    }
  }

  // The benches measure the writer with the flags its image runs it with.
  const writerEnv = chain(stages, 'message-writer').flatMap((s) => s.instructions).filter((i) => i.op === 'ENV' && i.args.startsWith('NODE_OPTIONS=')).at(-1)?.args
  t.equal(writerEnv, `NODE_OPTIONS=${WRITER_NODE_ARGS.join(' ')}`, 'message-writer runs with the V8 flags of bench/writer-node-args.ts')

  const entrypoint = readFileSync(join(deploy, 'docker-entrypoint.sh'), 'utf8')
  t.match(entrypoint, /exec "\$@"\s*$/, 'the entrypoint execs the command, so node gets SIGTERM itself')
  t.ok((statSync(join(deploy, 'docker-entrypoint.sh')).mode & 0o111) !== 0, 'the entrypoint is executable')

  const ignore = read('deploy/Dockerfile.dockerignore').split('\n')
  for (const pattern of ['**/node_modules', '**/dist', '.data']) t.ok(ignore.includes(pattern), `the build context leaves out ${pattern}`)
})

// --- compose ---------------------------------------------------------------------

interface ComposeService {
  image?: string
  build?: { context?: string, dockerfile?: string, target?: string }
  command?: string[]
  environment?: Record<string, string | number> | string[]
  depends_on?: Record<string, { condition?: string }> | string[]
  healthcheck?: { test?: string[] }
  volumes?: string[]
  secrets?: string[]
  configs?: Array<{ source?: string, target?: string }>
  deploy?: { replicas?: number }
  ports?: string[]
  networks?: Record<string, { ipv4_address?: string }>
}
interface ComposeFile {
  services: Record<string, ComposeService>
  networks?: Record<string, { ipam?: { config?: Array<{ subnet?: string }> } }>
  volumes?: Record<string, unknown>
  secrets?: Record<string, { file?: string }>
  configs?: Record<string, { file?: string }>
}

function environment (service: ComposeService): Record<string, string> {
  const env = service.environment ?? {}
  if (Array.isArray(env)) return Object.fromEntries(env.map((line) => [line.split('=')[0] ?? '', line.split('=').slice(1).join('=')]))
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]))
}

function flags (command: string[] = []): Map<string, string> {
  return new Map(command.filter((arg) => arg.startsWith('-')).map((arg) => {
    const [name = '', ...value] = arg.replace(/^-+/, '').split('=')
    return [name, value.join('=')]
  }))
}

t.test('compose.yaml', async (t) => {
  // Merge keys (<<) are how compose files share fragments; compose resolves them too.
  const compose = parse(read('deploy/compose.yaml'), { merge: true }) as ComposeFile
  const services = Object.entries(compose.services)
  const dockerfileTargets = new Set(parseDockerfile(read('deploy/Dockerfile')).map((s) => s.name))

  const nats = services.filter(([, s]) => s.image?.startsWith('nats:') === true)
  const natsNames = nats.map(([name]) => name)

  t.test('three NATS nodes, clustered with JetStream, each routed to the others', async (t) => {
    t.equal(nats.length, 3, 'three NATS services')
    const clusterNames = new Set<string>()
    for (const [name, service] of nats) {
      t.match(service.image, /^nats:2\.1\d/, `${name} runs NATS 2.10+`)
      const f = flags(service.command)
      t.ok(f.has('jetstream') || f.has('js'), `${name} enables JetStream`)
      t.equal(f.get('name'), name, `${name} has its own server name (JetStream clustering needs one)`)
      clusterNames.add(f.get('cluster_name') ?? '')
      t.match(f.get('cluster') ?? '', /:6222$/, `${name} listens for routes on 6222`)
      const routes = (f.get('routes') ?? '').split(',').map((route) => new URL(route))
      t.same(routes.map((r) => r.hostname).sort(), natsNames.filter((other) => other !== name).sort(), `${name} routes to the other two`)
      t.ok(routes.every((r) => r.port === '6222'), `${name} routes to the cluster port`)

      const store = f.get('store_dir') ?? f.get('sd') ?? ''
      const volume = service.volumes?.find((v) => v.split(':')[1] === store)?.split(':')[0]
      t.ok(volume !== undefined && compose.volumes !== undefined && volume in compose.volumes, `${name} keeps its JetStream store (${store}) on a named volume`)
      t.equal(f.get('http_port') ?? f.get('m'), '8222', `${name} serves monitoring on 8222`)
      t.match((service.healthcheck?.test ?? []).join(' '), ':8222/healthz?js-enabled-only=true', `${name} is health-checked on /healthz?js-enabled-only=true`)
    }
    t.equal(clusterNames.size, 1, 'one cluster name')
    t.notOk(clusterNames.has(''), 'the cluster is named')
  })

  t.test('NATS fsyncs before it acks, and the apps ask for three replicas', async (t) => {
    for (const [name, service] of nats) {
      const given = flags(service.command).get('config')
      const mounted = service.configs?.find((c) => c.target === given)
      t.ok(given !== undefined && mounted !== undefined, `${name} reads a configuration file it is given`)
      const file = compose.configs?.[mounted?.source ?? '']?.file ?? ''
      t.match(read(join('deploy', file)), /sync_interval:\s*always/, `${name}: sync_interval always (${file})`)
    }
    for (const [name, service] of services.filter(([, s]) => isApp(s.build?.target))) {
      t.equal(environment(service).NATS_STREAM_REPLICAS, '3', `${name}: NATS_STREAM_REPLICAS=3`)
    }
  })

  const apps = services.filter(([, s]) => isApp(s.build?.target))
  const appOf = (service: ComposeService): AppName => service.build?.target as AppName

  t.test('apps: image, environment, dependencies', async (t) => {
    t.same(new Set(apps.map(([, s]) => appOf(s))), new Set(appNames), 'every app is built')
    for (const [name, service] of apps) {
      const app = appOf(service)
      t.equal(resolve(deploy, service.build?.context ?? ''), root, `${name} builds from the repository root`)
      t.equal(service.build?.dockerfile, 'deploy/Dockerfile', `${name} builds with deploy/Dockerfile`)
      t.ok(dockerfileTargets.has(app), `${name}: the Dockerfile has target ${app}`)

      const env = environment(service)
      const known = variablesOf(app)
      for (const key of Object.keys(env)) t.ok(known.has(key), `${name}: ${key} is a variable ${app} reads`)
      t.same(natsHosts(t, env.NATS_URL, name).sort(), [...natsNames].sort(), `${name}: NATS_URL lists all three NATS nodes`)
      t.equal(env.HOST, '0.0.0.0', `${name} listens on every interface`)
      t.equal(env.LOG_FORMAT, 'json', `${name} logs JSON`)
      t.equal(Number(env.PORT ?? APPS[app].port), APPS[app].port, `${name} listens on ${app}'s port`)

      const deps = service.depends_on ?? {}
      t.notOk(Array.isArray(deps), `${name}: depends_on says which condition it waits for`)
      const conditions = Array.isArray(deps) ? {} : deps
      for (const node of natsNames) t.equal(conditions[node]?.condition, 'service_healthy', `${name} waits for ${node} to be healthy`)
      if (APPS[app].database) {
        t.equal(conditions.postgres?.condition, 'service_healthy', `${name} waits for PostgreSQL to be healthy`)
        t.equal(new URL(env.DATABASE_URL ?? 'x:').hostname, 'postgres', `${name}: DATABASE_URL points at the postgres service`)
      }
      if (app === 'chat-gateway') {
        t.equal(new URL(env.AUTH_URL ?? 'x:').host, 'auth-api:3000', `${name} fetches the JWKS from auth-api`)
        t.doesNotThrow(() => { checkAuthUrl(loadConfig(GatewayConfig, { AUTH_URL: env.AUTH_URL, AUTH_URL_ALLOW_HTTP: env.AUTH_URL_ALLOW_HTTP })) }, `${name}: its AUTH_URL passes the gateway's check`)
        t.equal(conditions['auth-api']?.condition, 'service_healthy', `${name} waits for auth-api`)
      }
    }
    for (const [name, service] of services) {
      const deps = service.depends_on ?? {}
      for (const [dep, { condition }] of Object.entries(Array.isArray(deps) ? {} : deps)) {
        t.ok(dep in compose.services, `${name} depends on an existing service ${dep}`)
        t.match(condition, /^service_(healthy|started|completed_successfully)$/, `${name} -> ${dep} has a condition`)
        if (condition === 'service_healthy') t.ok(compose.services[dep]?.healthcheck?.test, `${dep} has a healthcheck for ${name} to wait on`)
      }
    }
    const writers = apps.filter(([, s]) => appOf(s) === 'message-writer')
    t.ok(writers.reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0) >= 2, 'several message-writers')
  })

  t.test('auth-api signs with a key mounted from a secret', async (t) => {
    for (const [name, service] of apps.filter(([, s]) => appOf(s) === 'auth-api')) {
      const file = environment(service).JWT_PRIVATE_KEY_FILE ?? ''
      const secret = /^\/run\/secrets\/(.+)$/.exec(file)?.[1] ?? ''
      t.ok(service.secrets?.includes(secret), `${name} mounts the secret ${secret}`)
      const source = compose.secrets?.[secret]?.file ?? ''
      t.equal(relative(deploy, resolve(deploy, source)).split('/')[0], 'secrets', 'the key file lives under deploy/secrets')
    }
    t.match(read('deploy/secrets/.gitignore'), /^\*$/m, 'deploy/secrets is kept out of git')
  })

  t.test('PostgreSQL 16 with a volume and a healthcheck', async (t) => {
    const postgres = compose.services.postgres
    t.match(postgres?.image, /^postgres:16/)
    t.match((postgres?.healthcheck?.test ?? []).join(' '), /pg_isready/)
    const volume = postgres?.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'))?.split(':')[0] ?? ''
    t.ok(compose.volumes !== undefined && volume in compose.volumes, 'data on a named volume')
  })

  t.test('the browser client: forwards to auth-api and the load balancer, the one address auth-api trusts as a proxy', async (t) => {
    const web = services.find(([, s]) => s.build?.target === 'web')
    t.ok(web, 'a service builds the web target')
    if (web === undefined) return
    const [name, service] = web
    t.ok(dockerfileTargets.has('web'), 'the Dockerfile has target web')
    const env = environment(service)
    const known = new Set(Object.keys(WebConfig.properties))
    for (const key of Object.keys(env)) t.ok(known.has(key), `${name}: ${key} is a variable web reads`)
    t.doesNotThrow(() => loadConfig(WebConfig, env), `${name}: its environment loads`)
    t.equal(new URL(env.WEB_AUTH_URL ?? 'x:').host, 'auth-api:3000', `${name} forwards /api/auth to auth-api`)
    const lb = services.find(([, s]) => s.volumes?.some((v) => v.startsWith('./haproxy.cfg:')) === true)?.[0]
    t.equal(new URL(env.WEB_GATEWAY_URL ?? 'x:').hostname, lb, `${name} forwards /api/gateway to the gateways' load balancer`)
    t.equal(env.HOST, '0.0.0.0', `${name} listens on every interface`)

    const address = service.networks?.default?.ipv4_address
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet ?? ''
    t.ok(address !== undefined && subnet.endsWith('.0/24') && address.startsWith(subnet.replace(/0\/24$/, '')), `${name} has a fixed address (${address ?? 'none'}) in the network's range (${subnet})`)
    const auth = apps.find(([, s]) => appOf(s) === 'auth-api')
    const authEnv = auth === undefined ? {} : environment(auth[1])
    t.equal(authEnv.TRUST_PROXY, address, 'auth-api trusts X-Forwarded-For from that address alone')
    t.match(authEnv.PUBLIC_URL, /:3003\b/, 'auth-api\'s PUBLIC_URL (mailed links, passkeys) is the browser client')
    t.ok('SMTP_URL' in authEnv && 'MAIL_FROM' in authEnv, 'auth-api can be given SMTP_URL and MAIL_FROM')
  })

  t.test('several gateways behind a WebSocket-capable load balancer', async (t) => {
    const gateways = apps.filter(([, s]) => appOf(s) === 'chat-gateway').map(([name]) => name)
    t.ok(gateways.length >= 3, `${gateways.length} gateways`)

    const lb = services.find(([, s]) => s.volumes?.some((v) => v.startsWith('./haproxy.cfg:')) === true)
    t.ok(lb, 'a load balancer mounts deploy/haproxy.cfg')
    t.match(lb?.[1].image, /^haproxy:/)
    for (const gateway of gateways) t.ok(lb?.[1].depends_on !== undefined && gateway in lb[1].depends_on, `the load balancer starts after ${gateway}`)

    const sections = haproxySections(read('deploy/haproxy.cfg'))
    const backend = [...sections.entries()].find(([title]) => title.startsWith('backend '))?.[1] ?? []
    t.ok(backend.includes('balance roundrobin'), 'round-robin')
    t.ok(backend.includes('option httpchk'), 'health-checked over HTTP')
    t.ok(backend.some((line) => /^http-check send meth GET uri \/readyz$/.test(line)), 'checks GET /readyz')
    t.ok(backend.some((line) => /^default-server .*\bcheck\b/.test(line)), 'every server is checked')
    const servers = backend.filter((line) => line.startsWith('server ')).map((line) => line.split(/\s+/)[2] ?? '')
    t.same(servers.map((s) => s.split(':')[0]).sort(), [...gateways].sort(), 'the load balancer targets each gateway')
    t.ok(servers.every((s) => s.endsWith(':3001')), 'on the gateway port')
    const defaults = sections.get('defaults') ?? []
    const tunnel = defaults.find((line) => line.startsWith('timeout tunnel '))?.split(/\s+/)[2] ?? ''
    t.ok(/^\d+h$/.test(tunnel) || /^\d+m$/.test(tunnel), `a long tunnel timeout keeps WebSockets open (${tunnel})`)
  })

  // Debian's haproxy checks the syntax (.ci/run installs it); a machine
  // without it says so rather than passing in silence.
  const haproxyVersion = spawnSync('haproxy', ['-v'], { encoding: 'utf8' })
  const noHaproxy = haproxyVersion.error !== undefined
  t.test('haproxy -c accepts haproxy.cfg', { skip: noHaproxy && 'haproxy is not installed (apt-get install haproxy)' }, async (t) => {
    const check = spawnSync('haproxy', ['-c', '-q', '-f', join(deploy, 'haproxy.cfg')], { encoding: 'utf8' })
    t.equal(check.status, 0, `haproxy -c: ${check.stderr}`)
  })
  // No compose engine runs here (the docker client lacks the compose plugin,
  // and Debian's docker-compose 1.29 predates the Compose Specification's
  // `name`), so the checks above read the file itself.
})

function haproxySections (text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let current: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd()
    if (line.trim() === '') continue
    if (/^\S/.test(line)) {
      current = []
      sections.set(line.trim(), current)
    } else {
      current.push(line.trim().replace(/\s+/g, ' '))
    }
  }
  return sections
}

// --- Kubernetes -------------------------------------------------------------------

interface Probe { httpGet?: { path?: string, port?: string | number } }
interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef?: { name: string, key: string, optional?: boolean }, fieldRef?: { fieldPath: string } } }
interface SecurityContext { runAsNonRoot?: boolean, runAsUser?: number, allowPrivilegeEscalation?: boolean, readOnlyRootFilesystem?: boolean }
interface Container {
  name: string
  image?: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  envFrom?: Array<{ configMapRef?: { name: string }, secretRef?: { name: string } }>
  ports?: Array<{ name?: string, containerPort: number }>
  readinessProbe?: Probe
  livenessProbe?: Probe
  resources?: { requests?: Record<string, string>, limits?: Record<string, string> }
  securityContext?: SecurityContext
  volumeMounts?: Array<{ name: string, mountPath: string }>
}
interface PodSpec {
  containers: Container[]
  initContainers?: Container[]
  securityContext?: SecurityContext
  terminationGracePeriodSeconds?: number
  volumes?: Array<{ name: string, secret?: { secretName: string }, configMap?: { name: string }, projected?: { sources: Array<{ configMap?: { name: string } }> } }>
}
interface Selector { matchLabels?: Record<string, string> }
interface IngressPath { path?: string, pathType?: string, backend?: { service?: { name?: string } } }
interface IngressRule { host?: string, http?: { paths?: IngressPath[] } }
interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name?: string, generateName?: string, namespace?: string }
  data?: Record<string, string>
  spec?: {
    replicas?: number
    serviceName?: string
    selector?: Selector | Record<string, string>
    template?: { metadata?: { labels?: Record<string, string> }, spec: PodSpec }
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>
    type?: string
    clusterIP?: string
    publishNotReadyAddresses?: boolean
    scaleTargetRef?: { kind: string, name: string }
    minReplicas?: number
    maxUnavailable?: number | string
    minAvailable?: number | string
    rules?: IngressRule[]
    defaultBackend?: unknown
  }
}

function yamlFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return yamlFiles(path)
    return /\.ya?ml$/.test(entry.name) ? [path] : []
  })
}

function parseManifests (t: Test, text: string, where: string): Manifest[] {
  return parseAllDocuments(text).flatMap((doc) => {
    t.same(doc.errors.map((e) => e.message), [], `${where} parses`)
    const value: unknown = doc.toJS()
    // Parsed YAML is untyped; the assertions below check the fields they use.
    return value === null ? [] : [value as Manifest]
  })
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job'])
const appOfImage = (image = ''): AppName | undefined => {
  const name = /(?:^|\/)([a-z-]+)(?::[^/]*)?$/.exec(image)?.[1]
  return isApp(name) && image.includes('metadome') ? name : undefined
}
/**
 * Whether an Ingress path sends a request path to its backend, as the
 * networking.k8s.io/v1 spec defines it: Exact is equality, Prefix matches
 * whole path elements (`/v1` takes `/v1/ws`, not `/v1x`). An
 * ImplementationSpecific path is taken as a plain string prefix, the widest
 * reading (ingress-nginx may even treat it as a regex).
 */
function routes (rule: IngressPath, requestPath: string): boolean {
  const path = rule.path ?? '/'
  if (rule.pathType === 'Exact') return requestPath === path
  if (rule.pathType === 'Prefix') {
    const elements = (p: string): string[] => p.split('/').filter((e) => e !== '')
    const prefix = elements(path)
    return prefix.every((element, i) => elements(requestPath)[i] === element)
  }
  return requestPath.startsWith(path)
}

const selects = (selector: Selector | Record<string, string> | undefined, labels: Record<string, string> = {}): boolean => {
  const match = (selector as Selector | undefined)?.matchLabels ?? (selector as Record<string, string> | undefined) ?? {}
  return Object.keys(match).length > 0 && Object.entries(match).every(([key, value]) => labels[key] === value)
}

t.test('Kubernetes manifests', async (t) => {
  const dir = join(deploy, 'k8s')
  const files = yamlFiles(dir).filter((file) => !file.endsWith('kustomization.yaml'))
  const manifests = files.flatMap((file) => parseManifests(t, readFileSync(file, 'utf8'), relative(root, file)))
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { namespace?: string, resources?: string[] }
  const find = (kind: string, name: string | undefined): Manifest | undefined => manifests.find((m) => m.kind === kind && m.metadata.name === name)

  t.test('kustomization lists every manifest beside it', async (t) => {
    const resources = kustomization.resources ?? []
    for (const resource of resources) t.ok(existsSync(join(dir, resource)), `${resource} exists`)
    const topLevel = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    // ../nats and ../postgres generate ConfigMaps from the files compose mounts too.
    const beside = resources.filter((resource) => !resource.startsWith('../'))
    t.same([...topLevel].sort(), [...beside].sort(), 'nothing left out (optional ones live in optional/)')
    t.ok(manifests.some((m) => m.kind === 'Namespace' && m.metadata.name === kustomization.namespace), 'the namespace is created')
  })

  const workloads = manifests.filter((m) => workloadKinds.has(m.kind))
  const podSpec = (m: Manifest): PodSpec => m.spec?.template?.spec ?? { containers: [] }
  const deploymentOf = (app: AppName): Manifest | undefined =>
    manifests.find((m) => m.kind === 'Deployment' && podSpec(m).containers.some((c) => appOfImage(c.image) === app))

  t.test('NATS: a 3-replica JetStream StatefulSet, routed through a headless service', async (t) => {
    const sts = manifests.find((m) => m.kind === 'StatefulSet' && podSpec(m).containers.some((c) => c.image?.startsWith('nats:') === true))
    t.ok(sts, 'a NATS StatefulSet')
    if (sts === undefined) return
    t.equal(sts.spec?.replicas, 3, 'three replicas')
    const headless = find('Service', sts.spec?.serviceName)
    t.equal(headless?.spec?.clusterIP, 'None', 'its service is headless')
    t.equal(headless?.spec?.publishNotReadyAddresses, true, 'peers resolve each other before they are ready')

    const container = podSpec(sts).containers.find((c) => c.image?.startsWith('nats:') === true)
    const configMapNames = (podSpec(sts).volumes ?? []).flatMap((v) => [v.configMap?.name, ...(v.projected?.sources ?? []).map((p) => p.configMap?.name)])
    const conf = configMapNames.map((name) => Object.values(find('ConfigMap', name)?.data ?? {}).join('\n')).join('\n')
    t.match(conf, /jetstream\s*\{/, 'JetStream is on')
    t.match(conf, /server_name:\s*\$POD_NAME/, 'each server is named after its pod')
    t.match(conf, /jetstream\s*\{[^}]*sync_interval:\s*always/, 'JetStream fsyncs before it acks')
    t.equal(find('ConfigMap', 'metadome-common')?.data?.NATS_STREAM_REPLICAS, '3', 'the apps ask for three replicas')
    t.equal(container?.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', 'POD_NAME is the pod name')
    const store = /store_dir:\s*"?([^\s"]+)/.exec(conf)?.[1]
    const storeMount = container?.volumeMounts?.find((v) => v.mountPath === store)
    t.ok(sts.spec?.volumeClaimTemplates?.some((c) => c.metadata.name === storeMount?.name), `the file store (${store ?? 'none'}) is on a PersistentVolumeClaim`)
    for (let i = 0; i < 3; i++) {
      t.match(conf, `nats://${sts.metadata.name ?? ''}-${i}.${headless?.metadata.name ?? ''}:6222`, `routes reach pod ${i}`)
    }
    for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
      t.match(container?.[probe]?.httpGet?.path, /^\/healthz/, `NATS has a ${probe} on its monitoring /healthz`)
    }
  })

  t.test('apps: replicas, probes, limits, non-root, time to drain', async (t) => {
    const expectedReplicas: Record<AppName, number> = { 'auth-api': 2, 'chat-gateway': 3, 'message-writer': 2 }
    for (const app of appNames) {
      const deployment = deploymentOf(app)
      t.ok(deployment, `a Deployment runs ${app}`)
      if (deployment === undefined) continue
      const name = deployment.metadata.name ?? app
      t.ok((deployment.spec?.replicas ?? 1) >= expectedReplicas[app], `${name}: at least ${expectedReplicas[app]} replicas`)
      t.ok(selects(deployment.spec?.selector, deployment.spec?.template?.metadata?.labels), `${name}: the selector matches its pods`)
      // The app drains for up to 10 s (libs/service startServer), after any preStop pause.
      t.ok((podSpec(deployment).terminationGracePeriodSeconds ?? 30) >= 15, `${name}: long enough to drain`)
      for (const container of podSpec(deployment).containers.filter((c) => appOfImage(c.image) === app)) {
        const ports = new Map((container.ports ?? []).map((p) => [p.name ?? '', p.containerPort]))
        for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
          const get = container[probe]?.httpGet
          t.equal(get?.path, path, `${name}: ${probe} on ${path}`)
          const port = typeof get?.port === 'string' ? ports.get(get.port) : get?.port
          t.equal(port, APPS[app].port, `${name}: ${probe} on ${app}'s port`)
        }
      }
    }
  })

  t.test('the browser client: a Deployment forwarding to the auth-api and chat-gateway Services, probed on its port', async (t) => {
    const web = manifests.find((m) => m.kind === 'Deployment' && podSpec(m).containers.some((c) => /(?:^|\/)web(?::|$)/.test(c.image ?? '')))
    t.ok(web, 'a Deployment runs metadome/web')
    const container = web === undefined ? undefined : podSpec(web).containers[0]
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? '']))
    const known = new Set(Object.keys(WebConfig.properties))
    for (const key of Object.keys(env)) t.ok(known.has(key), `web: ${key} is a variable web reads`)
    t.equal(container?.envFrom, undefined, 'web mounts no shared ConfigMap (it reads none of their variables)')
    t.doesNotThrow(() => loadConfig(WebConfig, env), 'its environment loads')
    t.equal(new URL(env.WEB_AUTH_URL ?? 'x:').hostname, 'auth-api', 'forwards to the auth-api Service')
    t.equal(new URL(env.WEB_GATEWAY_URL ?? 'x:').hostname, 'chat-gateway', 'and to the chat-gateway Service')
    const port = container?.ports?.find((p) => p.name === 'http')?.containerPort
    t.equal(port, Number(env.PORT), 'the http port is the one it listens on')
    for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
      t.equal(container?.[probe]?.httpGet?.path, path, `web: ${probe} on ${path}`)
    }
    const service = manifests.find((m) => m.kind === 'Service' && selects(m.spec?.selector, web?.spec?.template?.metadata?.labels))
    t.equal(service?.metadata.name, 'web', 'a Service named web selects it (the ingress routes to it)')
    const auth = deploymentOf('auth-api')
    const authEnv = new Map((auth === undefined ? [] : podSpec(auth).containers[0]?.env ?? []).map((e) => [e.name, e]))
    t.match(authEnv.get('PUBLIC_URL')?.value, /^https:\/\//, 'auth-api\'s PUBLIC_URL is an https address')
    t.equal(authEnv.get('SMTP_URL')?.valueFrom?.secretKeyRef?.optional, true, 'SMTP_URL from an optional Secret: the stack runs without mail')
  })

  t.test('every workload: non-root, no privilege escalation, resource limits', async (t) => {
    for (const workload of workloads) {
      const spec = podSpec(workload)
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const where = `${workload.kind} ${workload.metadata.name ?? workload.metadata.generateName ?? ''}/${container.name}`
        const nonRoot = container.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot
        const user = container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser
        t.equal(nonRoot, true, `${where}: runAsNonRoot`)
        t.ok(user === undefined || user > 0, `${where}: not uid 0`)
        t.equal(container.securityContext?.allowPrivilegeEscalation, false, `${where}: no privilege escalation`)
        t.equal(container.securityContext?.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`)
        t.ok(container.resources?.limits?.cpu !== undefined && container.resources.limits.memory !== undefined, `${where}: CPU and memory limits`)
        t.ok(container.resources?.requests?.cpu !== undefined && container.resources.requests.memory !== undefined, `${where}: CPU and memory requests`)
      }
    }
  })

  t.test('environment: only variables the apps read, NATS_URL names every node, secrets by reference', async (t) => {
    const configMaps = new Map(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name ?? '', m.data ?? {}]))
    const natsSts = manifests.find((m) => m.kind === 'StatefulSet' && podSpec(m).containers.some((c) => c.image?.startsWith('nats:') === true))
    const natsPods = Array.from({ length: natsSts?.spec?.replicas ?? 0 }, (_v, i) => `${natsSts?.metadata.name ?? ''}-${i}.${natsSts?.spec?.serviceName ?? ''}`)
    let checked = 0
    for (const workload of workloads) {
      const spec = podSpec(workload)
      for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const app = appOfImage(container.image)
        if (app === undefined) continue
        checked++
        const where = `${workload.metadata.name ?? workload.metadata.generateName ?? ''}/${container.name}`
        const env = new Map<string, EnvVar>()
        for (const source of container.envFrom ?? []) {
          t.notOk(source.secretRef, `${where}: secrets come in by key, not as a whole`)
          const data = configMaps.get(source.configMapRef?.name ?? '')
          t.ok(data, `${where}: ConfigMap ${source.configMapRef?.name ?? ''} exists`)
          for (const [name, value] of Object.entries(data ?? {})) env.set(name, { name, value })
        }
        for (const variable of container.env ?? []) env.set(variable.name, variable)
        const known = variablesOf(app)
        for (const name of env.keys()) t.ok(known.has(name), `${where}: ${name} is a variable ${app} reads`)

        const migrating = [...(container.command ?? []), ...(container.args ?? [])].some((arg) => arg.endsWith('migrate.js'))
        if (!migrating) {
          t.same(natsHosts(t, env.get('NATS_URL')?.value, where).sort(), natsPods.sort(), `${where}: NATS_URL lists every NATS pod`)
          t.equal(env.get('HOST')?.value, '0.0.0.0', `${where}: listens on every interface`)
          t.equal(env.get('LOG_FORMAT')?.value, 'json', `${where}: logs JSON`)
        }
        if (APPS[app].database) {
          t.ok(env.get('DATABASE_URL')?.valueFrom?.secretKeyRef, `${where}: DATABASE_URL comes from a Secret`)
        }
        if (app === 'auth-api' && !migrating) {
          const file = env.get('JWT_PRIVATE_KEY_FILE')?.value ?? ''
          const mount = container.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`))
          t.ok(spec.volumes?.find((v) => v.name === mount?.name)?.secret, `${where}: the signing key is mounted from a Secret`)
        }
        if (app === 'chat-gateway') {
          t.match(env.get('AUTH_URL')?.value, /^http:\/\/auth-api[.:]/, `${where}: JWKS from the auth-api Service`)
          t.doesNotThrow(() => { checkAuthUrl(loadConfig(GatewayConfig, { AUTH_URL: env.get('AUTH_URL')?.value ?? '', AUTH_URL_ALLOW_HTTP: env.get('AUTH_URL_ALLOW_HTTP')?.value ?? 'false' })) }, `${where}: its AUTH_URL passes the gateway's check`)
        }
      }
    }
    t.ok(checked >= appNames.length, 'app containers were found')
  })

  t.test('gateways: a LoadBalancer, a disruption budget, an autoscaler', async (t) => {
    const gateway = deploymentOf('chat-gateway')
    const labels = gateway?.spec?.template?.metadata?.labels
    const service = manifests.find((m) => m.kind === 'Service' && selects(m.spec?.selector, labels))
    t.equal(service?.spec?.type, 'LoadBalancer', 'the gateway Service is a LoadBalancer')
    const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler' && m.spec?.scaleTargetRef?.name === gateway?.metadata.name)
    t.equal(hpa?.spec?.scaleTargetRef?.kind, 'Deployment', 'an HPA scales the gateway Deployment')
    t.ok((hpa?.spec?.minReplicas ?? 0) >= 3, 'never below three gateways')
    for (const workload of [gateway, manifests.find((m) => m.kind === 'StatefulSet' && m.metadata.name === 'nats')]) {
      const budget = manifests.find((m) => m.kind === 'PodDisruptionBudget' && selects(m.spec?.selector, workload?.spec?.template?.metadata?.labels))
      t.ok(budget?.spec?.maxUnavailable !== undefined || budget?.spec?.minAvailable !== undefined, `${workload?.metadata.name ?? '?'} has a PodDisruptionBudget`)
    }
  })

  t.test('ingress: the public API only, never /metrics or /docs', async (t) => {
    const ingresses = manifests.filter((m) => m.kind === 'Ingress')
    t.ok(ingresses.length > 0, 'an Ingress')
    const paths = ingresses.flatMap((ingress) => (ingress.spec?.rules ?? []).flatMap((rule) =>
      (rule.http?.paths ?? []).map((path) => ({ ...path, where: `${ingress.metadata.name ?? ''} ${rule.host ?? '*'} ${path.path ?? ''} (${path.pathType ?? ''})` }))))
    for (const ingress of ingresses) t.notOk(ingress.spec?.defaultBackend, `${ingress.metadata.name ?? ''}: no default backend, which would take every path`)
    // The web server takes its host's every path: it serves the page and
    // forwards only the public API (apps/web/test/server.test.ts).
    const apiPaths = paths.filter((path) => path.backend?.service?.name !== 'web')
    for (const path of apiPaths) {
      t.notOk(path.path === '/' || path.path === undefined || path.path === '', `${path.where}: not the whole site`)
    }
    // What each app serves for operators, Prometheus and the kubelet (libs/service, openapi.ts, asyncapi.ts).
    const internal = ['/metrics', '/docs', '/docs/', '/docs/json', '/docs/static/index.html', '/openapi.json', '/asyncapi', '/asyncapi.json', '/healthz', '/readyz']
    for (const requestPath of internal) {
      const exposing = apiPaths.filter((path) => routes(path, requestPath)).map((path) => path.where)
      t.same(exposing, [], `${requestPath} is not routed`)
    }
    const reaches = (requestPath: string, service: string): boolean =>
      paths.some((path) => routes(path, requestPath) && path.backend?.service?.name === service)
    t.ok(reaches('/v1/auth/login', 'auth-api'), 'auth-api\'s REST API is routed')
    t.ok(reaches('/.well-known/jwks.json', 'auth-api'), 'and its JWKS')
    t.ok(reaches('/v1/ws', 'chat-gateway'), 'the gateway\'s WebSocket is routed')
    t.ok(reaches('/v1/conversations', 'chat-gateway'), 'and its REST API')
    t.ok(reaches('/', 'web'), 'the browser client\'s page is routed')
    const webHosts = new Set(paths.filter((path) => path.backend?.service?.name === 'web').map((path) => path.where.split(' ')[1]))
    t.same(apiPaths.filter((path) => webHosts.has(path.where.split(' ')[1])).map((path) => path.where), [], 'the browser client\'s host sends nothing straight to an app')
    t.notOk(routes({ path: '/v1', pathType: 'Prefix' }, '/v1x/metrics'), 'Prefix matches whole elements (the check itself)')
    t.ok(routes({ path: '/', pathType: 'Prefix' }, '/metrics'), 'a / Prefix would expose /metrics (the check itself)')
  })

  // kubectl is a client tool, not a dependency of this repo: where it is
  // missing the render is skipped and the checks above still stand.
  const render = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  const noKubectl = render.error !== undefined && `kubectl is not available (${render.error.message})`
  t.test('kubectl kustomize renders', { skip: noKubectl }, async (t) => {
    t.equal(render.status, 0, render.stderr)
    const rendered = parseManifests(t, render.stdout, 'kubectl kustomize output')
    const kinds = new Set(rendered.map((m) => m.kind))
    for (const kind of ['Namespace', 'ConfigMap', 'StatefulSet', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) {
      t.ok(kinds.has(kind), `renders a ${kind}`)
    }
    for (const m of rendered.filter((m) => m.kind !== 'Namespace')) {
      t.equal(m.metadata.namespace, kustomization.namespace, `${m.kind} ${m.metadata.name ?? ''} is in the namespace`)
    }
    for (const m of rendered.filter((m) => workloadKinds.has(m.kind))) {
      for (const c of podSpec(m).containers) t.match(c.image, /:[^/]+$/, `${m.metadata.name ?? ''}/${c.name} has a tagged image`)
    }
  })
})
