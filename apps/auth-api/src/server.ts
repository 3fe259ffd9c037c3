import { loadConfigOrExit } from '@metadome/config'
import { startServer } from '@metadome/service'
import { AuthConfig } from './config.js'
import { buildApp } from './app.js'

// UV_THREADPOOL_SIZE is read by libuv when its pool first starts, before any
// of this runs: the package.json scripts (and the container image) set it to
// cores + 4 when it is unset. See lib/thread-pool.ts.
const config = loadConfigOrExit(AuthConfig, process.env)
await startServer(async () => await buildApp(config), config)
