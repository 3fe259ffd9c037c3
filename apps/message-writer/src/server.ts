import { loadConfigOrExit } from '@metadome/config'
import { startServer } from '@metadome/service'
import { WriterConfig } from './config.js'
import { buildApp } from './app.js'

const config = loadConfigOrExit(WriterConfig, process.env)
await startServer(async () => await buildApp(config), config)
