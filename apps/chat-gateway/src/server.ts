import { loadConfigOrExit } from '@metadome/config'
import { startServer } from '@metadome/service'
import { GatewayConfig } from './config.js'
import { buildApp } from './app.js'

const config = loadConfigOrExit(GatewayConfig, process.env)
await startServer(async () => await buildApp(config), config)
