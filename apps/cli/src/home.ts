import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { FileKeyStore } from '@metadome/client/node'

// The config folder, per OS user: $METADOME_HOME, else
// $XDG_CONFIG_HOME/metadome, else ~/.config/metadome. It holds config.json
// (the servers and who is signed in) and store/ (the private keys, the
// session's tokens, pinned contact keys, the cursor), all owner-only: the
// folders 0700, the files 0600.

export const DEFAULT_AUTH_URL = 'http://127.0.0.1:3000'
export const DEFAULT_GATEWAY_URL = 'ws://127.0.0.1:3001/v1/ws'

export interface CliConfig {
  authUrl: string
  gatewayUrls: string[]
  /** The signed-in account, if any. */
  userId?: string
  username?: string
}

export function homeDir (env: NodeJS.ProcessEnv = process.env): string {
  if (env.METADOME_HOME !== undefined && env.METADOME_HOME !== '') return env.METADOME_HOME
  const xdg = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(xdg, 'metadome')
}

export class Home {
  readonly dir: string
  readonly store: FileKeyStore

  constructor (dir: string) {
    this.dir = dir
    this.store = new FileKeyStore(join(dir, 'store'))
  }

  get configPath (): string {
    return join(this.dir, 'config.json')
  }

  /** The saved config, with the servers overridden by flags or environment when given. */
  async config (overrides: { authUrl?: string, gatewayUrls?: string[] } = {}): Promise<CliConfig> {
    let saved: Partial<CliConfig> = {}
    try {
      saved = JSON.parse(await readFile(this.configPath, 'utf8')) as Partial<CliConfig>
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    return {
      ...saved,
      authUrl: overrides.authUrl ?? saved.authUrl ?? DEFAULT_AUTH_URL,
      gatewayUrls: overrides.gatewayUrls ?? saved.gatewayUrls ?? [DEFAULT_GATEWAY_URL]
    }
  }

  async save (config: CliConfig): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await chmod(this.dir, 0o700)
    const tmp = `${this.configPath}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
    await rename(tmp, this.configPath)
  }
}
