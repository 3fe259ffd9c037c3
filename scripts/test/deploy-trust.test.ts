import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, parseAllDocuments } from 'yaml'

// The trust between services as deploy/ sets it up (DESIGN.md "Cluster and
// trust between services"), in compose and in Kubernetes alike: each app
// connects to NATS as its own user of deploy/nats/permissions.conf, with the
// password that user is given, and to PostgreSQL as its own role of
// deploy/postgres/roles.sql. Both deployments use those two files, not
// copies of them. nats-permissions.test.ts and db-roles.test.ts show what
// the files themselves allow; this shows the deployments use them.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const deploy = join(root, 'deploy')
const read = (path: string): string => readFileSync(join(deploy, path), 'utf8')

const APPS = ['auth-api', 'chat-gateway', 'message-writer'] as const
type App = typeof APPS[number]
/** The PostgreSQL role of each app with a database (roles.sql). */
const ROLES: Partial<Record<App, string>> = { 'auth-api': 'metadome_auth', 'message-writer': 'metadome_chat' }

/** Each NATS user of permissions.conf with the variable its password is read from. */
function natsUsers (conf: string): Map<string, string> {
  const users = new Map<string, string>()
  for (const [, user = '', variable = ''] of conf.matchAll(/user:\s*(\S+)\s+password:\s*\$(\w+)/g)) users.set(user, variable)
  return users
}

interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef?: { name: string, key: string } } }
interface Container { name: string, image?: string, env?: EnvVar[], envFrom?: Array<{ secretRef?: { name: string } }>, volumeMounts?: Array<{ name: string, mountPath: string }> }
interface Volume {
  name: string
  configMap?: { name: string, items?: Array<{ key: string, path: string }>, defaultMode?: number }
  projected?: { sources: Array<{ configMap?: { name: string } }> }
}
interface Manifest {
  kind: string
  metadata: { name?: string }
  data?: Record<string, string>
  spec?: { template?: { spec?: { containers: Container[], volumes?: Volume[] } } }
}

const manifestsOf = (text: string): Manifest[] => parseAllDocuments(text).map((doc) => doc.toJS() as Manifest).filter((m) => m !== null)
const appOf = (image: string | undefined): string | undefined => /^metadome\/([\w-]+)/.exec(image ?? '')?.[1]
const containersOf = (m: Manifest): Container[] => m.spec?.template?.spec?.containers ?? []
const envOf = (c: Container | undefined, name: string): EnvVar | undefined => c?.env?.find((e) => e.name === name)

const permissions = read('nats/permissions.conf')
const users = natsUsers(permissions)

t.test('permissions.conf gives each app a user with its own password variable', async (t) => {
  t.same([...users.keys()].sort(), [...APPS].sort(), 'one user per app')
  t.equal(new Set(users.values()).size, users.size, 'no two users share a password')
})

t.test('compose: each app is its own NATS user and PostgreSQL role', async (t) => {
  const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, { image?: string, environment?: Record<string, string>, configs?: Array<{ source: string, target: string }> }>, configs: Record<string, { file: string }> }
  const nats = Object.entries(compose.services).filter(([name]) => /^nats-\d$/.test(name))
  t.ok(nats.length >= 3, 'three NATS nodes')
  for (const [name, service] of nats) {
    const permissionsConfig = service.configs?.find((c) => c.target === '/etc/nats/permissions.conf')
    t.equal(compose.configs[permissionsConfig?.source ?? '']?.file, './nats/permissions.conf', `${name} mounts deploy/nats/permissions.conf`)
    for (const variable of users.values()) t.match(JSON.stringify(service.environment ?? {}), variable, `${name} is given ${variable}`)
  }
  for (const [name, service] of Object.entries(compose.services)) {
    const app = appOf(service.image?.replace(/^\$\{METADOME_REGISTRY:-metadome\}/, 'metadome'))
    if (app === undefined || !(APPS as readonly string[]).includes(app)) continue
    const env = service.environment ?? {}
    t.equal(env.NATS_USER, app, `${name} connects as NATS user ${app}`)
    t.match(env.NATS_PASSWORD, `\${${users.get(app) ?? '?'}`, `${name} has that user's password`)
    const role = ROLES[app as App]
    if (role !== undefined) t.match(env.DATABASE_URL, `postgres://${role}:`, `${name} connects as role ${role}`)
  }
})

/** A kustomization's generated ConfigMap files, by ConfigMap name. */
function generated (dir: string): Map<string, string[]> {
  const k = parse(readFileSync(join(deploy, dir, 'kustomization.yaml'), 'utf8')) as { configMapGenerator?: Array<{ name: string, files: string[] }> }
  return new Map((k.configMapGenerator ?? []).map((g) => [g.name, g.files]))
}

function checkKubernetes (t: Test, manifests: Manifest[], configMapName: (name: string) => string): void {
  const workload = (test: (c: Container) => boolean): Manifest | undefined =>
    manifests.find((m) => ['Deployment', 'StatefulSet'].includes(m.kind) && containersOf(m).some(test))
  const volume = (m: Manifest | undefined, name: string | undefined): Volume | undefined =>
    m?.spec?.template?.spec?.volumes?.find((v) => v.name === name)

  const natsSts = workload((c) => c.image?.startsWith('nats:') === true)
  const nats = natsSts === undefined ? undefined : containersOf(natsSts)[0]
  t.ok(nats?.envFrom?.some((e) => e.secretRef?.name === 'metadome-nats'), 'the NATS servers read the passwords from the Secret metadome-nats')
  const configMount = nats?.volumeMounts?.find((v) => v.mountPath === '/etc/nats')
  const sources = (volume(natsSts, configMount?.name)?.projected?.sources ?? []).map((s) => s.configMap?.name)
  t.ok(sources.includes(configMapName('nats-permissions')), 'permissions.conf sits beside nats.conf')
  const natsConf = sources.map((name) => manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === name)?.data?.['nats.conf']).find((c) => c !== undefined)
  t.match(natsConf, /^\s*include permissions\.conf\s*$/m, 'nats.conf includes it')

  for (const app of APPS) {
    const c = workload((c) => appOf(c.image) === app)?.spec?.template?.spec?.containers.find((c) => appOf(c.image) === app)
    t.equal(envOf(c, 'NATS_USER')?.value, app, `${app} connects as NATS user ${app}`)
    t.same(envOf(c, 'NATS_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'metadome-nats', key: users.get(app) }, `${app} has that user's password`)
    const role = ROLES[app]
    if (role === undefined) t.equal(envOf(c, 'DATABASE_URL'), undefined, `${app} has no database`)
    else t.same(envOf(c, 'DATABASE_URL')?.valueFrom?.secretKeyRef, { name: 'metadome-database', key: app === 'auth-api' ? 'AUTH_DATABASE_URL' : 'CHAT_DATABASE_URL' }, `${app} has its own role's URL`)
  }

  const pgSts = workload((c) => c.image?.startsWith('postgres:') === true)
  const pg = pgSts === undefined ? undefined : containersOf(pgSts)[0]
  const mounted = (path: string): Volume | undefined => volume(pgSts, pg?.volumeMounts?.find((v) => v.mountPath === path)?.name)
  const init = mounted('/docker-entrypoint-initdb.d')
  t.equal(init?.configMap?.name, configMapName('postgres-roles'), 'init-roles.sh runs at the first start')
  t.same(init?.configMap?.items, [{ key: 'init-roles.sh', path: '10-roles.sh' }], 'as a script')
  t.equal(init?.configMap?.defaultMode, 0o555, 'that may be executed')
  const initScript = read('postgres/init-roles.sh')
  const sqlPath = /-f\s+(\S+)/.exec(initScript)?.[1] ?? ''
  const sqlVolume = mounted(dirname(sqlPath))
  t.equal(sqlVolume?.configMap?.name, configMapName('postgres-roles'), `roles.sql is where init-roles.sh reads it (${sqlPath})`)
  t.same(sqlVolume?.configMap?.items, [{ key: 'roles.sql', path: 'roles.sql' }], 'under its name')
  for (const [, variable = ''] of initScript.matchAll(/"\$(\w+_DB_PASSWORD)"/g)) {
    t.same(envOf(pg, variable)?.valueFrom?.secretKeyRef, { name: 'metadome-database', key: variable }, `PostgreSQL is given ${variable}`)
  }
}

t.test('Kubernetes: each app is its own NATS user and PostgreSQL role', async (t) => {
  const k8s = join(deploy, 'k8s')
  const kustomization = parse(readFileSync(join(k8s, 'kustomization.yaml'), 'utf8')) as { resources: string[] }
  t.ok(kustomization.resources.includes('../nats') && kustomization.resources.includes('../postgres'), 'deploy/k8s takes its ConfigMaps from deploy/nats and deploy/postgres')
  t.same(generated('nats').get('nats-permissions'), ['permissions.conf'], 'nats-permissions is permissions.conf itself')
  t.same(generated('postgres').get('postgres-roles'), ['roles.sql', 'init-roles.sh'], 'postgres-roles is roles.sql and init-roles.sh themselves')

  const files = readdirSync(k8s).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
  checkKubernetes(t, files.flatMap((f) => manifestsOf(readFileSync(join(k8s, f), 'utf8'))), (name) => name)

  const readme = read('README.md')
  for (const key of ['AUTH_DATABASE_URL', 'CHAT_DATABASE_URL', 'AUTH_DB_PASSWORD', 'CHAT_DB_PASSWORD', ...users.values()]) {
    t.match(readme, `--from-literal=${key}=`, `deploy/README.md says how to create ${key}`)
  }
})

// kubectl is a client tool, not a dependency: where it is missing the
// render is skipped and the checks on the files above still stand.
const render = spawnSync('kubectl', ['kustomize', join(deploy, 'k8s')], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
t.test('Kubernetes, as kubectl kustomize renders it', { skip: render.error !== undefined && `kubectl is not available (${render.error.message})` }, async (t) => {
  t.equal(render.status, 0, render.stderr)
  const manifests = manifestsOf(render.stdout)
  const hashed = (name: string): string => manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name?.startsWith(`${name}-`) === true)?.metadata.name ?? name
  const data = (name: string): Record<string, string> => manifests.find((m) => m.metadata.name === hashed(name))?.data ?? {}
  t.equal(data('nats-permissions')['permissions.conf'], permissions, 'the NATS ConfigMap holds permissions.conf as it is')
  t.equal(data('postgres-roles')['roles.sql'], read('postgres/roles.sql'), 'the PostgreSQL ConfigMap holds roles.sql as it is')
  t.equal(data('postgres-roles')['init-roles.sh'], read('postgres/init-roles.sh'), 'and init-roles.sh')
  checkKubernetes(t, manifests, hashed)
})
