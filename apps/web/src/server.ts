import { loadConfigOrExit } from '@metadome/config'
import { WebConfig } from './config.js'
import { buildWebServer } from './app.js'

// `npm run start -w apps/web`: the browser client alone, in front of the
// auth-api at WEB_AUTH_URL and the gateways at WEB_GATEWAY_URL. The only
// reader of process.env here.

const config = loadConfigOrExit(WebConfig, process.env)
const web = await buildWebServer(config)
const url = await web.listen()
process.stdout.write(`metadome web client at ${url} (auth-api ${config.WEB_AUTH_URL}, gateways ${config.WEB_GATEWAY_URL})\n`)

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  void web.close().then(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
