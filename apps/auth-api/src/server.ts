import { loadConfigOrExit } from '@metadome/config'
import { startServer } from '@metadome/service'
import { AuthConfig } from './config.js'
import { buildApp } from './app.js'

const config = loadConfigOrExit(AuthConfig, process.env)
await startServer(async () => await buildApp(config), config)
